import pytest

from contacts_mcp.core.errors import InvalidInput
from contacts_mcp.core.normalize import (
    clean_text, email_key, normalize_attributes, normalize_date, normalize_email, normalize_phone, parse_ts,
)


def test_email_is_trimmed_and_its_domain_lower_cased_but_not_its_local_part():
    assert normalize_email("  Ann.Lee@Example.COM ") == "Ann.Lee@example.com"


def test_email_key_compares_case_insensitively():
    assert email_key(normalize_email("ANN@example.com")) == email_key(normalize_email("ann@EXAMPLE.com"))


@pytest.mark.parametrize("bad", ["ann", "ann@", "@example.com", "ann@@example.com", "ann lee@example.com",
                                 "ann@example", "ann@localhost"])
def test_malformed_email_is_refused_naming_the_field_and_the_expected_form(bad):
    with pytest.raises(InvalidInput) as err:
        normalize_email(bad)
    assert str(err.value).startswith("email:")
    assert "name@example.com" in str(err.value)


def test_empty_email_means_no_email():
    assert normalize_email("   ") is None


@pytest.mark.parametrize("raw", ["06 12 34 56 78", "0612345678", "+33 6 12 34 56 78", "0033612345678",
                                 "+33 (0)6 12 34 56 78"])
def test_french_mobile_numbers_in_any_form_become_e164(raw):
    assert normalize_phone(raw, "FR") == "+33612345678"


def test_national_numbers_are_read_in_the_default_region():
    assert normalize_phone("(201) 555-0123", "US") == "+12015550123"


@pytest.mark.parametrize("bad", ["12", "not a phone", "+33 1", "06 12 34"])
def test_unparseable_phone_is_refused_with_an_international_example(bad):
    with pytest.raises(InvalidInput) as err:
        normalize_phone(bad, "FR", "mobile")
    assert str(err.value).startswith("mobile:")
    assert "+33612345678" in str(err.value)


@pytest.mark.parametrize("raw", ["1990-05-17", "17/05/1990", "17.05.1990", "17-05-1990"])
def test_birth_dates_are_stored_as_iso_dates(raw):
    assert normalize_date(raw) == "1990-05-17"


def test_impossible_date_is_refused():
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        normalize_date("31/02/1990")


def test_text_longer_than_its_limit_is_refused_with_the_limit_and_the_length():
    with pytest.raises(InvalidInput, match="at most 255 characters allowed, received 300"):
        clean_text("city", "x" * 300)


def test_attribute_names_are_names_or_aliases_with_a_letter_or_digit_and_a_bounded_length():
    assert normalize_attributes({"Mobile Phone": "1", "FNAME": "Ann"}) == {"Mobile Phone": "1", "FNAME": "Ann"}
    with pytest.raises(InvalidInput, match="attributes.--: .*letter or digit"):
        normalize_attributes({"--": 1})
    with pytest.raises(InvalidInput, match="at most 100 characters") as caught:
        normalize_attributes({"x" * 5000: 1})
    assert len(str(caught.value)) < 200  # the long name is not echoed


def test_attribute_values_must_be_scalars():
    with pytest.raises(InvalidInput, match="text, numbers, booleans or null"):
        normalize_attributes({"tags": ["a", "b"]})


def test_timestamps_from_callers_are_stored_in_fixed_width_utc():
    assert parse_ts("since", "2026-01-31") == "2026-01-31T00:00:00.000000Z"
    assert parse_ts("since", "2026-01-31T10:00:00+02:00") == "2026-01-31T08:00:00.000000Z"
    with pytest.raises(InvalidInput, match="ISO 8601"):
        parse_ts("since", "yesterday")


def test_timestamps_are_fixed_width_utc_with_microseconds_whatever_the_offset_given():
    from datetime import datetime, timedelta, timezone

    from contacts_mcp.core.normalize import format_ts, utc_now

    assert format_ts(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000000Z"
    assert format_ts(datetime(2026, 1, 1, 1, 0, 0, 7, tzinfo=timezone(timedelta(hours=2)))) == "2025-12-31T23:00:00.000007Z"
    now = utc_now()
    assert len(now) == 27 and now.endswith("Z") and now[10] == "T"
