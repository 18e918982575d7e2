"""Differential tests: the fast paths either defer (None) or agree exactly with the libraries."""

from __future__ import annotations

import random

import email_validator
import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from contacts_mcp.core.fastpath import SUPPORTED_COUNTRY_CODES, SUPPORTED_REGIONS, fast_email, fast_phone

PROPERTY = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------------------------- slow paths

def slow_email(text: str) -> str | None:
    """normalize_email's library call, None where it raises."""
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None
    local, _, domain = result.normalized.rpartition("@")
    return f"{local}@{domain.lower()}"


def slow_phone(text: str, region: str) -> str | None:
    """_phone_e164's library calls, None where parse raises or the number is not valid."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_email(text: str) -> str | None:
    fast = fast_email(text)
    if fast is not None:
        assert fast == slow_email(text), text
    return fast


def check_phone(text: str, region: str) -> str | None:
    fast = fast_phone(text, region)
    if fast is not None:
        assert fast == slow_phone(text, region), (text, region)
    mobile = fast_phone(text, region, mobile=True)
    if mobile is not None:  # a mobile is a valid number whose type can receive SMS
        assert mobile == fast and phonenumbers.number_type(phonenumbers.parse(mobile)) in _SMS_TYPES, (text, region)
    elif fast is not None:  # deferred only when it is not such a number (or the slow path must decide)
        assert phonenumbers.number_type(phonenumbers.parse(fast)) not in _SMS_TYPES or len(text) > 40, (text, region)
    return fast


_SMS_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


# ----------------------------------------------------------------------------------------------- email

_LOCAL_CHARS = "abcxyzABCXYZ0189._%+-"
_EXOTIC_LOCAL = "!#$&'*/=?^_`{|}~\"\\ @<>(),;:[]é\u00e9\u0301ß\x00\t"
_LABEL_CHARS = "abcxyzABCXYZ0189-"
_ROLE = ["info", "Info", "SUPPORT", "postmaster", "Webmaster", "abuse", "news", "www", "ftp", "ann"]
_TLDS = ["com", "fr", "COM", "Fr", "io", "museum", "c0m", "123", "1a", "a", "x1", "local", "LOCAL",
         "localhost", "test", "Test", "invalid", "onion", "arpa", "example", "xn--p1ai", "XN--P1AI",
         "québec", "рф", "co-op", "-com", "com-", "a" * 63, "a" * 64]

local_parts = st.one_of(
    st.text(alphabet=_LOCAL_CHARS, min_size=0, max_size=70),
    st.text(alphabet=_LOCAL_CHARS + _EXOTIC_LOCAL, min_size=1, max_size=20),
    st.sampled_from(_ROLE),
    st.builds(lambda a, b: f'"{a}"{b}', st.text(alphabet=_LOCAL_CHARS + " @", max_size=8),
              st.sampled_from(["", "x"])),
)
labels = st.one_of(
    st.text(alphabet=_LABEL_CHARS, min_size=0, max_size=12),
    st.text(alphabet=_LABEL_CHARS, min_size=60, max_size=66),
    st.sampled_from(["xn--bcher-kva", "XN--BCHER-KVA", "ab--cd", "a--b", "xn--", "bücher", "EXAMPLE",
                     "example", "local", "test", "mail_srv", "1", "[127.0.0.1]"]),
)
domains = st.one_of(
    st.builds(lambda ls, tld, sep: sep.join([*ls, tld]), st.lists(labels, min_size=0, max_size=4),
              st.sampled_from(_TLDS) | st.text(alphabet=_LABEL_CHARS, min_size=1, max_size=5),
              st.sampled_from([".", ".", ".", "..", "。"])),
    st.builds(lambda n: ".".join(["abcdefghij" * 6] * n) + ".com", st.integers(1, 5)),
    st.sampled_from(["[127.0.0.1]", "[IPv6:::1]", "example.com.", ".example.com", "-a.com", "a-.com"]),
)
emails = st.one_of(
    st.builds(lambda lp, d, at: f"{lp}{at}{d}", local_parts, domains,
              st.sampled_from(["@", "@", "@", "@@", "＠", ""])),
    st.builds(lambda name, e: f"{name} <{e}>", st.sampled_from(["Ann", '"Ann Lee"', ""]),
              st.builds(lambda lp, d: f"{lp}@{d}", local_parts, domains)),
    st.text(max_size=40),
)


@PROPERTY
@given(emails)
def test_fast_email_agrees_with_email_validator(text: str) -> None:
    check_email(text.strip())


@PROPERTY
@given(local=st.text(alphabet=_LOCAL_CHARS, min_size=1, max_size=70),
       domain=st.builds(lambda ls, tld: ".".join([*ls, tld]),
                        st.lists(st.text(alphabet=_LABEL_CHARS, min_size=1, max_size=64),
                                 min_size=1, max_size=5),
                        st.text(alphabet="abcXYZ", min_size=2, max_size=6)
                        | st.text(alphabet="abcXYZ", min_size=1, max_size=64)))
def test_fast_email_agrees_on_plain_shapes(local: str, domain: str) -> None:
    # Mostly well-formed ASCII addresses: exercises the accepting branch, lengths and hyphen rules.
    check_email(f"{local}@{domain}")


@pytest.mark.parametrize(("text", "expected"), [
    ("ann.lee@example.com", "ann.lee@example.com"),
    ("Ann.Lee@Example.COM", "Ann.Lee@example.com"),
    ("first+tag@mail.example.co.uk", "first+tag@mail.example.co.uk"),
    ("o'neil_99@sub-domain.example.org", "o'neil_99@sub-domain.example.org"),
    ("Info@Example.com", "info@example.com"),  # RFC 2142 role names are lower-cased by email_validator
    ("user1@123.example.com", "user1@123.example.com"),
])
def test_fast_email_hits_typical_values(text: str, expected: str) -> None:
    assert fast_email(text) == expected
    assert slow_email(text) == expected


@pytest.mark.parametrize("text", [
    "a@b.local", "a@x.localhost", "a@foo.test", "a@foo.invalid", "a@foo.onion", "a@1.in-addr.arpa",
    "a@localhost", "a@com", "a@example.c0m", "a@xn--bcher-kva.ch", "a@ab--cd.com", "a..b@example.com",
    ".a@example.com", "a.@example.com", '"a b"@example.com', "Ann <a@example.com>", "a@[127.0.0.1]",
    "é@example.com", "a@bücher.ch", "a@-example.com", "a@example-.com", "a@example.com.",
    "a" * 65 + "@example.com", "a@" + "b" * 64 + ".com",
    "a" * 10 + "@" + ("b" * 60 + ".") * 4 + "com",  # 258 > 254
])
def test_fast_email_defers_unusual_or_invalid(text: str) -> None:
    assert fast_email(text) is None


@pytest.mark.parametrize(("local", "domain", "fast_hits", "valid"), [
    ("a" * 64, "example.com", True, True),
    ("a" * 65, "example.com", False, True),        # email_validator only limits the local part in strict mode
    ("a", "b" * 63 + ".com", True, True), ("a", "b" * 64 + ".com", False, False),   # label: 63
    ("a" * 58, ("b" * 63 + ".") * 3 + "com", True, True),                           # 254 in all
    ("a" * 59, ("b" * 63 + ".") * 3 + "com", False, False),                         # 255
    ("a", ("b" * 62 + ".") * 4, False, False),                                      # trailing dot
    ("a", "x." + "c" * 63, True, True), ("a", "x." + "c" * 64, False, False),       # TLD label: 63
])
def test_fast_email_length_limits(local: str, domain: str, fast_hits: bool, valid: bool) -> None:
    text = f"{local}@{domain}"
    assert (check_email(text) is not None) is fast_hits
    assert (slow_email(text) is not None) is valid


def test_fast_email_follows_special_use_list(monkeypatch: pytest.MonkeyPatch) -> None:
    assert fast_email("a@mail.corp") == "a@mail.corp"
    names = [*email_validator.SPECIAL_USE_DOMAIN_NAMES, "corp", "example.net"]
    monkeypatch.setattr(email_validator, "SPECIAL_USE_DOMAIN_NAMES", names)
    for text in ("a@mail.corp", "a@example.net", "a@sub.EXAMPLE.net"):
        assert fast_email(text) is None
        assert slow_email(text) is None
    assert fast_email("a@notexample.net") == "a@notexample.net"


# ----------------------------------------------------------------------------------------------- phone

PHONE_REGIONS = sorted({"FR", "BE", "CH", "DE", "ES", "GB", "US", "IT", "NL", "SE", *SUPPORTED_REGIONS})
_CCS = sorted({*SUPPORTED_COUNTRY_CODES, 7, 46, 262, 590, 800, 999, 0})
_SEPS = [" ", ".", "-", "(", ")", "/", "", "", "", ""]
_ODD = ["ext", "x", "#", "*", ";ext=1", "a", "\t", "\u00a0", "+", "٣", "１", ",", "~", "tel:"]


def _example_nsns() -> list[str]:
    """Example national numbers of every type, for the test regions and every region sharing a covered
    calling code (GG/IM/JE with GB, VA with IT, the NANP islands with US/CA)."""
    regions = set(PHONE_REGIONS)
    for cc in SUPPORTED_COUNTRY_CODES:
        regions.update(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ()))
    out = set()
    for region in sorted(regions):
        for kind in phonenumbers.PhoneNumberType.values():
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                out.add(phonenumbers.national_significant_number(number))
    return sorted(out)


EXAMPLE_NSNS = _example_nsns()


@st.composite
def phone_texts(draw: st.DrawFn) -> tuple[str, str]:
    region = draw(st.sampled_from(PHONE_REGIONS))
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    own_cc = str(metadata.country_code)
    national_prefix = metadata.national_prefix or ""
    # A national number: random digits, or a real example number with a few digits changed / cut / added.
    if draw(st.booleans()):
        digits = list(draw(st.sampled_from(EXAMPLE_NSNS)))
        for _ in range(draw(st.integers(0, 2))):
            digits[draw(st.integers(0, len(digits) - 1))] = draw(st.sampled_from("0123456789"))
        nsn = "".join(digits)
        nsn = nsn[:draw(st.integers(max(1, len(nsn) - 2), len(nsn)))]
        nsn += draw(st.text("0123456789", max_size=2))
    else:
        nsn = draw(st.text("0123456789", min_size=1, max_size=17))
    cc = draw(st.sampled_from([own_cc, own_cc, *map(str, _CCS)]))
    form = draw(st.sampled_from(["national", "national", "prefixed", "plus", "plus", "idd", "idd011",
                                 "plus0", "cc_bare", "raw"]))
    body = {
        "national": nsn,
        "prefixed": national_prefix + nsn,
        "plus": "+" + cc + nsn,
        "idd": "00" + cc + nsn,
        "idd011": "011" + cc + nsn,
        "plus0": "+" + cc + "0" + nsn,
        "cc_bare": cc + nsn,
        "raw": nsn,
    }[form]
    # Sprinkle separators (and sometimes something odd) between the characters.
    pieces = []
    for ch in body:
        if draw(st.integers(0, 4)) == 0:
            pieces.append(draw(st.sampled_from(_SEPS)) * draw(st.integers(1, 2)))
        pieces.append(ch)
    if draw(st.integers(0, 9)) == 0:
        pieces.insert(draw(st.integers(0, len(pieces))), draw(st.sampled_from(_ODD)))
    if draw(st.integers(0, 9)) == 0:
        pieces.insert(0, draw(st.sampled_from(["(", "((", ".", "-", " ", "(0)", "+ "])))
    return "".join(pieces).strip(), region


@PROPERTY
@given(phone_texts())
def test_fast_phone_agrees_with_phonenumbers(case: tuple[str, str]) -> None:
    text, region = case
    assume(text)
    check_phone(text, region)


@PROPERTY
@given(st.text(alphabet="0123456789+ .-()/#x", min_size=1, max_size=20), st.sampled_from(PHONE_REGIONS))
def test_fast_phone_agrees_on_arbitrary_digit_strings(text: str, region: str) -> None:
    check_phone(text, region)


def test_fast_phone_agrees_on_example_numbers_in_all_forms() -> None:
    # Deterministic sweep: every supported region's example numbers, mutated, in each written form.
    rng = random.Random(20240611)
    hits = 0
    for region in PHONE_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        cc = str(metadata.country_code)
        prefix = metadata.national_prefix or ""
        for nsn in EXAMPLE_NSNS:
            for _ in range(3):
                digits = list(nsn)
                digits[rng.randrange(len(digits))] = rng.choice("0123456789")
                mutated = "".join(digits)
                for text in (mutated, prefix + mutated, f"+{cc}{mutated}",
                             f"+{cc} {mutated[:3]} {mutated[3:]}", f"00{cc}{mutated}", f"+{cc} (0){mutated}",
                             f"({prefix}{mutated[:2]}) {mutated[2:]}"):
                    hits += check_phone(text, region) is not None
    assert hits > 1000  # the sweep does exercise the accepting branches


@pytest.mark.parametrize(("text", "region", "expected"), [
    ("+33612345678", "FR", "+33612345678"),
    ("+33 6 12 34 56 78", "FR", "+33612345678"),
    ("06 12 34 56 78", "FR", "+33612345678"),
    ("0612345678", "FR", "+33612345678"),
    ("06.12.34.56.78", "FR", "+33612345678"),
    ("0033612345678", "FR", "+33612345678"),
    ("01 42 68 53 00", "FR", "+33142685300"),
    ("+33612345678", "US", "+33612345678"),  # international input, whatever the default region
    ("+1 201 555 0123", "US", "+12015550123"),
    ("(201) 555-0123", "US", "+12015550123"),
    ("07400 123456", "GB", "+447400123456"),
    ("+44 7400 123456", "FR", "+447400123456"),
    ("0471 23 45 67", "BE", "+32471234567"),
    ("078 123 45 67", "CH", "+41781234567"),
    ("0151 23456789", "DE", "+4915123456789"),
    ("612 34 56 78", "ES", "+34612345678"),
    ("312 345 6789", "IT", "+393123456789"),
    ("06 12345678", "NL", "+31612345678"),
])
def test_fast_phone_hits_typical_values(text: str, region: str, expected: str) -> None:
    assert fast_phone(text, region) == expected
    assert slow_phone(text, region) == expected


@pytest.mark.parametrize(("text", "region"), [
    ("+33 (0)6 12 34 56 78", "FR"),   # national prefix after the country code: parse strips it, we defer
    ("06 12 34 56 78 ext 12", "FR"),
    ("06 12 34 56 78#", "FR"),
    ("tel:+33612345678", "FR"),
    ("+33 6 12 34 56 7", "FR"),       # invalid: the slow path gives the error
    ("06 12 34 56", "FR"),
    ("33612345678", "FR"),            # starts with the region's own calling code
    ("06 1234 5678", "IT"),           # Italian leading zero
    ("1 201 555 0123", "US"),         # national prefix equal to the calling code
    ("+7 912 345 67 89", "FR"),       # calling code not covered
    ("06 12 34 56 78", "SE"),         # national form in a region not covered
    ("0612345678", "fr"),
    ("٠٦١٢٣٤٥٦٧٨", "FR"),
    ("+33\t612345678", "FR"),
])
def test_fast_phone_defers(text: str, region: str) -> None:
    assert fast_phone(text, region) is None
