"""Fast paths for the two costly normalisations of a bulk import (email and phone).

Each function either returns exactly what the slow path (email_validator / phonenumbers, as used by
normalize.py) would return for the same text, or None meaning "not sure, ask the slow path". A fast
path never accepts a value the slow path rejects and never produces a different normalised form;
anything unusual (non-ASCII, quoting, Punycode, national prefixes after a country code, extensions,
letters...) defers. tests/core/test_fastpath.py checks this differentially against the libraries.

The rules mirror email_validator 2.x (syntax.py / validate_email.py) and phonenumbers' parse() /
is_valid_number(); the phone metadata (patterns, prefixes, lengths) is read from phonenumbers itself.
"""

from __future__ import annotations

import re

import email_validator as _ev
import phonenumbers
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, ValidationResult

__all__ = ["fast_email", "fast_phone", "SUPPORTED_REGIONS", "SUPPORTED_COUNTRY_CODES"]

# --------------------------------------------------------------------------------------------- email

# Local part: RFC 5322 dot-atom over ASCII atext (email_validator's DOT_ATOM_TEXT). Domain: LDH labels of
# 1-63 characters not starting or ending with a hyphen, at least two labels, the last one 2-63 letters
# (email_validator only needs it to end with a letter: stricter here). re.ASCII: no Unicode classes.
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"
_EMAIL_RE = re.compile(
    rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}))",
    re.ASCII,
)
_EMAIL_MAX = 254       # email_validator: whole address (original, normalised and ASCII forms), UTF-8 octets
_LOCAL_MAX = 64        # only enforced by email_validator in strict mode: stricter here, never looser
_CASELESS_LOCALS = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)  # RFC 2142 names it lower-cases

# email_validator reads SPECIAL_USE_DOMAIN_NAMES at every call (library users may change it), so the
# snapshot below is rebuilt whenever the list object or its length changes.
_special_src: object = None
_special_len = -1
_special_labels: frozenset[str] = frozenset()
_special_dotted: tuple[str, ...] = ()


def _special_use(domain: str, tld: str) -> bool:
    """Whether email_validator's special-use check could reject this (lower-cased) domain."""
    global _special_src, _special_len, _special_labels, _special_dotted
    names = _ev.SPECIAL_USE_DOMAIN_NAMES
    if names is not _special_src or len(names) != _special_len:
        entries = [str(d).lower() for d in names]
        _special_labels = frozenset(d for d in entries if "." not in d)
        _special_dotted = tuple(d for d in entries if "." in d)
        _special_src, _special_len = names, len(names)
    # A dotless entry d rejects "d" and "*.d": with a dotted domain, that is exactly "last label == d".
    if tld in _special_labels:
        return True
    for d in _special_dotted:
        if domain == d or domain.endswith("." + d):
            return True
    return False


def fast_email(text: str) -> str | None:
    """The normalised form normalize_email() would give `text` (already stripped), or None to defer.

    Covers plain ASCII addresses: dot-atom local part, LDH domain with an alphabetic TLD. Returns
    local@domain with the local part as given (lower-cased for RFC 2142 role names such as "info")
    and the domain lower-cased, as email_validator's `normalized` (UTS-46 case-folds the domain).
    Defers on anything else: quotes, display names, non-ASCII, IP literals, "--" in the domain
    (Punycode "xn--" and the R-LDH rule), special-use domains, over-long parts.
    """
    if len(text) > _EMAIL_MAX:
        return None
    m = _EMAIL_RE.fullmatch(text)
    if m is None:
        return None
    local, domain, tld = m.group(1, 2, 3)
    if len(local) > _LOCAL_MAX or "--" in domain:
        return None
    domain = domain.lower()
    if _special_use(domain, tld.lower()):
        return None
    if local.lower() in _CASELESS_LOCALS:
        local = local.lower()
    return f"{local}@{domain}"


# --------------------------------------------------------------------------------------------- phone

# Default regions whose national forms ("06 12 34 56 78", "0033 6...") are read here. International
# "+<cc>..." input is read for any default region, when <cc> is one of SUPPORTED_COUNTRY_CODES.
SUPPORTED_REGIONS = ("FR", "BE", "CH", "DE", "ES", "GB", "US", "CA", "IT", "NL", "LU", "AT", "PT", "MC")
SUPPORTED_COUNTRY_CODES = frozenset({33, 32, 41, 49, 34, 44, 1, 39, 31, 352, 43, 351, 377})

_MAX_TEXT = 40          # normalize_phone's own limit on the input
_MIN_NSN, _MAX_NSN = 2, 17  # phonenumbers' _MIN_LENGTH_FOR_NSN / _MAX_LENGTH_FOR_NSN
_SEPARATORS = str.maketrans("", "", " .-()/")  # a subset of phonenumbers' VALID_PUNCTUATION
_TYPE_FIELDS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
                "voicemail", "fixed_line")


def _prefix_matcher(pattern: str | None):
    """A callable telling whether `pattern` (a national prefix for parsing) matches at the start, or None."""
    if not pattern:
        return None
    if pattern.isdigit() and pattern.isascii():
        return lambda digits, _p=pattern: digits.startswith(_p)  # same verdict as re.match, cheaper
    return re.compile(pattern).match


def _desc(desc):
    """(possible lengths or None, pattern) of a PhoneNumberDesc, or None if it never matches."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = frozenset(desc.possible_length) if len(desc.possible_length) > 0 else None
    return lengths, desc.national_number_pattern


def _part(desc) -> str:
    """A regex that matches the whole of a national number exactly when phonenumbers' _is_number_matching_desc
    does: its length is one of the possible lengths (when the desc lists them) and it fullmatches the pattern."""
    lengths, pattern = desc
    length = "" if lengths is None else "(?=" + "|".join(f".{{{n}}}\\Z" for n in sorted(lengths)) + ")"
    return f"{length}(?:{pattern})"


class _Validity:
    """phonenumbers' _number_type_helper(nsn, metadata) != UNKNOWN, for one region, with compiled patterns."""

    __slots__ = ("valid", "valid_sms", "leading")

    def __init__(self, metadata) -> None:
        general = _desc(metadata.general_desc)
        types = []
        # The mobile pattern is only consulted when phonenumbers would (not same_mobile_and_fixed_line_pattern).
        if not metadata.same_mobile_and_fixed_line_pattern:
            types.append(_desc(metadata.mobile))
        types.extend(_desc(getattr(metadata, name)) for name in _TYPE_FIELDS)
        types = [d for d in types if d is not None]
        # valid(nsn): the general desc matches, and so does one of the types (order does not change the verdict).
        if general is None or not types:
            self.valid = lambda nsn: False
        else:
            either = "|".join(f"(?:{_part(d)})" for d in types)
            fullmatch = re.compile(f"(?=(?:{_part(general)})\\Z)(?:{either})").fullmatch
            self.valid = lambda nsn: fullmatch(nsn) is not None
        fixed, mobile = _desc(metadata.fixed_line), _desc(metadata.mobile)
        # valid(nsn), and number_type(nsn) MOBILE or FIXED_LINE_OR_MOBILE, at once: phonenumbers' type order makes
        # a number of any type before fixed-line no mobile, and a fixed-line one FIXED_LINE_OR_MOBILE only if it
        # matches mobile too (or the two patterns are the same). So: the general desc, no type before fixed-line,
        # and the mobile desc (fixed-line where they are the same), which is one of valid()'s types.
        sms_desc = fixed if metadata.same_mobile_and_fixed_line_pattern else mobile
        if general is None or sms_desc is None:
            self.valid_sms = lambda nsn: False
        else:
            before = [d for d in (_desc(getattr(metadata, n)) for n in _TYPE_FIELDS[:-1]) if d]
            unless = f"(?!(?:{'|'.join(f'(?:{_part(d)})' for d in before)})\\Z)" if before else ""
            both = re.compile(f"(?=(?:{_part(general)})\\Z){unless}(?:{_part(sms_desc)})").fullmatch
            self.valid_sms = lambda nsn: both(nsn) is not None
        leading = metadata.leading_digits
        self.leading = re.compile(leading).match if leading is not None else None


class _Country:
    """What validating a number of one country calling code needs."""

    __slots__ = ("prefix", "regions", "single", "np_match")

    def __init__(self, cc: int) -> None:
        regions = COUNTRY_CODE_TO_REGION_CODE[cc]
        self.prefix = f"+{cc}"
        metas = [PhoneMetadata.metadata_for_region(r, None) for r in regions]
        if metas[0] is None:
            raise LookupError(cc)
        self.regions = tuple(_Validity(m) for m in metas if m is not None)
        self.single = self.regions[0] if len(regions) == 1 else None
        # parse() strips a national prefix after the country code with the main region's rules: if that
        # pattern matches the start of the rest, defer ("+33 (0)6..." and the like).
        self.np_match = _prefix_matcher(metas[0].national_prefix_for_parsing)

    def valid(self, nsn: str, mobile: bool = False) -> bool:
        """phonenumbers.is_valid_number for this calling code (region_code_for_number + for_region); with
        `mobile`, also that its type there is MOBILE or FIXED_LINE_OR_MOBILE."""
        region = self.single if self.single is not None else self._region(nsn)
        if region is None:
            return False
        return region.valid_sms(nsn) if mobile else region.valid(nsn)

    def _region(self, nsn: str) -> _Validity | None:
        for region in self.regions:
            if region.leading is not None:
                if region.leading(nsn):
                    return region
            elif region.valid(nsn):
                return region
        return None


class _Home:
    """A default region: how parse() reads national forms there."""

    __slots__ = ("cc_str", "country", "idd_str", "idd_rx", "np_str", "np_rx", "ok_lengths")

    def __init__(self, region: str) -> None:
        m = PhoneMetadata.metadata_for_region(region, None)
        if m is None:
            raise LookupError(region)
        self.cc_str = str(m.country_code)
        self.country = _country(m.country_code)
        if self.country is None:
            raise LookupError(region)
        # The international prefix (IDD) and the national prefix, as plain digit strings when they are
        # (a startswith() check has the same verdict as the regex match, cheaper), else as regexes.
        idd = m.international_prefix
        self.idd_str = idd if idd and idd.isdigit() and idd.isascii() else None
        self.idd_rx = re.compile(idd).match if idd and self.idd_str is None else None
        npfp = m.national_prefix_for_parsing
        transform = m.national_prefix_transform_rule
        self.np_str = npfp if npfp and npfp.isdigit() and npfp.isascii() and not transform else None
        self.np_rx = None
        if npfp and self.np_str is None:
            pattern = re.compile(npfp)
            # Plain stripping only: no capture group, no transform rule. Otherwise defer when it matches.
            simple = pattern.groups == 0 and not transform
            self.np_rx = (pattern.match, simple)
        # Lengths for which parse() keeps the number with its national prefix stripped: its
        # _test_number_length (which depends only on the length) is not TOO_SHORT / LOCAL_ONLY / INVALID.
        # Asked of phonenumbers itself (private helper: if it ever goes, the region is simply not fast).
        test_length = phonenumbers.phonenumberutil._test_number_length
        refused = (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
                   ValidationResult.INVALID_LENGTH)
        self.ok_lengths = frozenset(n for n in range(_MAX_NSN + 1) if test_length("5" * n, m) not in refused)


_CALLING_CODES = {str(cc): cc for cc in COUNTRY_CODE_TO_REGION_CODE}
# Built on first use; building twice in a race is harmless (same content), so no lock.
_countries: dict[int, _Country | None] = {}
_homes: dict[str, _Home | None] = {}


def _country(cc: int) -> _Country | None:
    if cc in _countries:
        return _countries[cc]
    try:
        value: _Country | None = _Country(cc) if cc in SUPPORTED_COUNTRY_CODES else None
    except Exception:  # metadata missing or unexpected: never fast
        value = None
    _countries[cc] = value
    return value


def _home(region: str) -> _Home | None:
    if region in _homes:
        return _homes[region]
    try:
        value: _Home | None = _Home(region) if region in SUPPORTED_REGIONS else None
    except Exception:
        value = None
    _homes[region] = value
    return value


def _international(digits: str, mobile: bool = False) -> str | None:
    """E.164 for the digits after "+" or the IDD, when valid and read the same way as parse()."""
    if len(digits) <= _MIN_NSN or digits[0] == "0":
        return None
    # parse's _extract_country_code: the shortest known code of 1 to 3 digits.
    for size in (1, 2, 3):
        cc = _CALLING_CODES.get(digits[:size])
        if cc is not None:
            break
    else:
        return None
    country = _countries.get(cc) or _country(cc)
    if country is None:
        return None
    nsn = digits[size:]
    if not _MIN_NSN <= len(nsn) <= _MAX_NSN or nsn[0] == "0":
        return None
    if country.np_match is not None and country.np_match(nsn):
        return None
    if not country.valid(nsn, mobile):
        return None
    return country.prefix + nsn


def fast_phone(text: str, region: str, mobile: bool = False) -> str | None:
    """The E.164 form _phone_e164(text, region) would give, or None to defer.

    Reads text made of ASCII digits and the separators " .-()/" with an optional leading "+":
    "+<cc><nsn>" for the calling codes in SUPPORTED_COUNTRY_CODES (any default region), and, with a
    default region in SUPPORTED_REGIONS, "<idd><cc><nsn>" (e.g. "0033...") and national forms with or
    without the national prefix ("06 12 34 56 78", "612345678"). Defers on letters, extensions,
    other characters, a national prefix after a country code, national forms starting with the
    region's own calling code, leading zeros in the national number (Italy), prefix rules with
    carrier codes or transforms, and any number phonenumbers would not call valid.
    """
    if len(text) > _MAX_TEXT:
        return None
    if text[:1] == "+":
        digits = text[1:]
        if not (digits.isdigit() and digits.isascii()):
            digits = digits.translate(_SEPARATORS)
            if not (digits.isdigit() and digits.isascii()):
                return None
        return _international(digits, mobile)

    digits = text
    if not (digits.isdigit() and digits.isascii()):
        digits = digits.translate(_SEPARATORS)
        if not (digits.isdigit() and digits.isascii()):
            # "(+33) 6 ..." and similar: only separators before the "+", where parse starts the number.
            if digits[:1] == "+":
                rest = digits[1:]
                if rest.isdigit() and rest.isascii():
                    return _international(rest, mobile)
            return None

    home = _homes.get(region) or _home(region)
    if home is None:
        return None
    # parse() first tries the default region's IDD ("00", "011"...) unless a "0" follows it.
    end = -1
    if home.idd_str is not None:
        if digits.startswith(home.idd_str):
            end = len(home.idd_str)
    elif home.idd_rx is not None:
        m = home.idd_rx(digits)
        if m is not None:
            end = m.end()
    if end >= 0:
        rest = digits[end:]
        if rest[:1] in ("", "0"):
            return None  # parse keeps the IDD digits as part of a national number: unusual
        return _international(rest, mobile)
    if digits.startswith(home.cc_str):
        return None  # parse may read these first digits as the region's own calling code
    nsn = digits
    end = -1
    if home.np_str is not None:
        if digits.startswith(home.np_str):
            end = len(home.np_str)
    elif home.np_rx is not None:
        match, simple = home.np_rx
        m = match(digits)
        if m is not None:
            if not simple:
                return None
            end = m.end()
    if end >= 0:
        nsn = digits[end:]
        # parse strips the prefix when the rest is viable (a valid number is) and of a kept length.
        if len(nsn) not in home.ok_lengths:
            return None
    if not _MIN_NSN <= len(nsn) <= _MAX_NSN or nsn[0] == "0":
        return None
    country = home.country
    if not country.valid(nsn, mobile):
        return None
    return country.prefix + nsn
