"""Value normalisation shared by every write path (create, update, bulk upsert, import).

One function per kind of value; each returns the stored form or raises InvalidInput naming the field
and the accepted form, so the caller can correct it.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from .errors import InvalidInput
from .fastpath import fast_email, fast_phone

TEXT_MAX = 255
EXT_ID_MAX = 100


def utc_now() -> str:
    """The current time in the fixed-width UTC form every stored timestamp uses (sortable as text)."""
    return format_ts(datetime.now(timezone.utc))


def format_ts(moment: datetime) -> str:
    """YYYY-MM-DDTHH:MM:SS.ffffffZ (isoformat: C code, where strftime parses its format on every call)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_ts(field: str, value: str) -> str:
    """An ISO 8601 date or date-time from the caller, as a stored timestamp (naive means UTC)."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not an ISO 8601 date or date-time; use e.g. "
                                  "'2026-01-31' or '2026-01-31T08:00:00Z'") from None
    return format_ts(moment)


def clean_text(field: str, value: object, max_len: int = TEXT_MAX) -> str | None:
    """Trimmed text; empty becomes None."""
    if value is None:
        return None
    text = (value if value.__class__ is str else str(value)).strip()
    if not text:
        return None
    if "\x00" in text:
        text = text.replace("\x00", "").strip()
    if len(text) > max_len:
        raise InvalidInput(field, f"at most {max_len} characters allowed, received {len(text)}")
    return text


# Characters that show nothing (zero-width space, joiners, word joiner, BOM). Around an identity they
# would make a value that looks blank, or like another contact's, a different one (or an invalid one).
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def clean_identity(field: str, value: object, max_len: int) -> str | None:
    """clean_text for an identity or an address (ext_id, email, phones), also trimmed of invisible
    characters: one made of nothing but spaces and those is missing (None), wherever it comes from."""
    text = clean_text(field, value, max_len)
    if text is not None and (text[0] in _INVISIBLE or text[-1] in _INVISIBLE):
        while text and (text[0] in _INVISIBLE or text[-1] in _INVISIBLE):
            text = text.strip(_INVISIBLE).strip()
        return text or None
    return text


def normalize_email(value: str, field: str = "email") -> str | None:
    """Trimmed, syntax-checked (no DNS), domain lower-cased. Compare with email_key()."""
    text = clean_identity(field, value, 254)
    if text is None:
        return None
    fast = fast_email(text)  # the common plain-ASCII case, proven equal to email_validator's answer
    if fast is not None:
        return fast
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(field, f"{text!r} is not a valid email address ({exc}); "
                                  "expected a form like 'name@example.com'") from None
    local, _, domain = result.normalized.rpartition("@")
    return f"{local}@{domain.lower()}"


def email_key(email: str | None) -> str | None:
    """The case-insensitive identity of an email address (what deduplication compares)."""
    return email.lower() if email else None


def normalize_phone(value: object, region: str, field: str = "mobile") -> str | None:
    """A phone number in E.164 (+33612345678); national forms are read in the default region, and digits
    that are no national number there but a valid international one without its "+" (380942583691) as
    that. The `mobile` field takes only numbers that can be mobiles (not a landline, toll-free...)."""
    text = clean_identity(field, value, 40)
    if text is None:
        return None
    mobile = field == "mobile"
    return fast_phone(text, region, mobile) or _phone_e164(text, region, field, mobile)


# Number types a `mobile` may not have: they cannot receive an SMS.
_NOT_MOBILE = {
    phonenumbers.PhoneNumberType.FIXED_LINE: "a landline", phonenumbers.PhoneNumberType.TOLL_FREE: "a toll-free",
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "a premium-rate", phonenumbers.PhoneNumberType.SHARED_COST:
    "a shared-cost", phonenumbers.PhoneNumberType.UAN: "a company's universal",
    phonenumbers.PhoneNumberType.VOICEMAIL: "a voicemail access"}


def _parsed(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """A valid number read nationally in `region`, else (bare digits not starting with 0 only) read as
    international without its "+"."""
    number = _valid(text, region)
    if number is None and text[:1] not in ("+", "0") and text.replace(" ", "").isdigit():
        number = _valid("+" + text, None)
    return number


def _valid(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


@lru_cache(maxsize=4096)
def _phone_e164(text: str, region: str, field: str, mobile: bool = False) -> str:
    number = _parsed(text, region)
    if number is None:
        raise InvalidInput(field, f"{text!r} is not a valid phone number (default region {region}); "
                                  "give it in international form, e.g. '+33612345678'")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    kind = _NOT_MOBILE.get(phonenumbers.number_type(number)) if mobile else None
    if kind:
        raise InvalidInput(field, f"{text!r} ({e164}) is {kind} number, not a mobile: it cannot receive SMS; "
                                  "give it as fixed_phone")
    return e164


_DATE_FORMS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")


def normalize_date(value: object, field: str = "birth_date") -> str | None:
    """A calendar date as YYYY-MM-DD; also reads DD/MM/YYYY, DD.MM.YYYY and DD-MM-YYYY."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = clean_text(field, value, 40)
    if text is None:
        return None
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return date.fromisoformat(text).isoformat()  # the common case, ~50x cheaper than strptime
        except ValueError:
            pass
    for form in _DATE_FORMS:
        try:
            return datetime.strptime(text, form).date().isoformat()
        except ValueError:
            continue
    raise InvalidInput(field, f"{text!r} is not a date; use YYYY-MM-DD (or DD/MM/YYYY)")


def normalize_ext_id(value: object) -> str | None:
    return clean_identity("ext_id", value, EXT_ID_MAX)


ATTRIBUTE_NAME_MAX = 100  # a field's name or alias, matched like a header (fields.fold)
ATTRIBUTES_MAX = 100
ATTRIBUTE_VALUE_MAX = 1000
ATTRIBUTES_TOTAL_MAX = 4000  # characters of JSON: keeps one contact well inside a page


def normalize_attributes(values: dict[str, object]) -> dict[str, object]:
    """Attributes by name or alias ('loyalty_tier', 'FNAME'), scalar values; empty strings become None (erase)."""
    if len(values) > ATTRIBUTES_MAX:
        raise InvalidInput("attributes", f"at most {ATTRIBUTES_MAX} attributes allowed, received {len(values)}")
    out: dict[str, object] = {}
    for name, value in values.items():
        if len(name) > ATTRIBUTE_NAME_MAX or not any(ch.isalnum() for ch in name):
            raise InvalidInput(f"attributes.{name[:40]}", "attribute names are a field's name or alias: a letter "
                                                          f"or digit, at most {ATTRIBUTE_NAME_MAX} characters")
        if isinstance(value, str):
            value = clean_text(f"attributes.{name}", value, ATTRIBUTE_VALUE_MAX)
        elif value is not None and not isinstance(value, bool | int | float):
            raise InvalidInput(f"attributes.{name}", "values are text, numbers, booleans or null")
        out[name] = value
    size = len(json.dumps(out, ensure_ascii=False))
    if size > ATTRIBUTES_TOTAL_MAX:
        raise InvalidInput("attributes", f"at most {ATTRIBUTES_TOTAL_MAX} characters of attributes allowed "
                                         f"(as JSON), received {size}")
    return out
