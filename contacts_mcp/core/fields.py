"""Fields: the built-in contact attributes, the typed custom fields a user creates, and the aliases
that let a CRM export's column headers be matched to them.

Headers and aliases are compared folded: accents removed, case ignored, only letters and digits kept,
so "E-mail", "e_mail" and "EMAIL" are one alias, and "Prénom" matches "prenom".
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

from ..storage.api import Reader, Writer
from .aliases import ALIAS_SEEDS, DEFAULT_ALIASES, SEED_VERSION  # noqa: F401 - DEFAULT_ALIASES re-exported
from .errors import Conflict, InvalidInput, NotFound, all_invalid
from .models import BUILTIN_FIELDS, BUILTINS, INPUT_ARGUMENTS, FieldInfo, FieldPage, FieldsChange
from .normalize import clean_text, normalize_date, utc_now
from .pagination import decode_cursor, page
from .references import refuse_if_named
from .scope import Scope

FieldType = Literal["text", "number", "date", "boolean", "choice"]
CUSTOM_FIELDS_MAX = 100
CHOICES_MAX = 200
ALIASES_PER_FIELD_MAX = 50
TEXT_VALUE_MAX = 1000
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
IDENTITY_FIELDS = ("ext_id", "email", "mobile")
ALL_BUILTINS = ("ext_id", *BUILTIN_FIELDS)
# Names a custom field may not take: the input's arguments, and stored columns that are no field.
RESERVED_NAMES = INPUT_ARGUMENTS | {"blocked_senders", "status", "source", "id", "email_key",
                                    # the filter language's own names (core/filters.py)
                                    "list", "segment", "reachable", "opted_out", "optout_reason", "email_domain",
                                    "created_at", "updated_at",
                                    # an export's own columns (core/exports/columns.py)
                                    "deleted_at", "lists", "segments", "optout_email", "optout_sms",
                                    "optout_voice", "optout_voicemail"}
_BUILTIN_KIND = {"ext_id": "id", **BUILTINS}

def fold(text: str) -> str:
    """The form headers and aliases are compared in."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str  # built-ins: id, email, phone, date, text; custom: text, number, date, boolean, choice
    builtin: bool
    choices: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()

    @functools.cached_property
    def choice_keys(self) -> dict[str, str]:
        """Each choice by its lower-case form (the first of equal ones), for coerce's lookup per value."""
        keys: dict[str, str] = {}
        for choice in self.choices or ():
            keys.setdefault(choice.lower(), choice)
        return keys


@dataclass
class Registry:
    """Every field of one account and the folded names that lead to each."""

    fields: dict[str, FieldDef] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # folded alias or name -> field name

    def resolve(self, header: str) -> str | None:
        return self.keys.get(fold(header))

    @property
    def custom(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if not f.builtin]


def _build(custom: list[dict[str, Any]], aliases: list[dict[str, Any]]) -> Registry:
    reg = Registry()
    by_field: dict[str, list[str]] = {}
    for a in aliases:
        by_field.setdefault(a["field"], []).append(a["alias"])
    for name in ALL_BUILTINS:
        reg.fields[name] = FieldDef(name, _BUILTIN_KIND.get(name, "text"), True,
                                    aliases=tuple(by_field.get(name, ())))
    for row in custom:
        reg.fields[row["name"]] = FieldDef(row["name"], row["type"], False,
                                           tuple(row["choices"]) if row["choices"] else None,
                                           tuple(by_field.get(row["name"], ())))
    for name in reg.fields:
        reg.keys[fold(name)] = name
    for a in aliases:
        if a["field"] in reg.fields:
            reg.keys.setdefault(a["alias_key"], a["field"])
    return reg


def load_registry(r: Reader) -> Registry:
    return _build(r.custom_fields(), r.aliases())


def _seed(w: Writer) -> None:
    """Give the account the alias seeds it has not had yet (see ALIAS_SEEDS)."""
    done = w.aliases_seeded()
    if done >= SEED_VERSION:
        return
    taken = {fold(row["name"]) for row in w.custom_fields()}
    w.insert_aliases(((f, a, fold(a)) for seed in ALIAS_SEEDS[done:] for f, names in seed.items() for a in names
                      if fold(a) not in taken), utc_now())
    w.mark_aliases_seeded(SEED_VERSION)


async def registry(scope: Scope, fresh: bool = False) -> Registry:
    """The account's fields, seeding the default aliases on first use. Memoised per process while the
    account's fields version is unchanged: any change to fields or aliases, by any process, raises it."""
    key = ("fields", scope.account_id)
    cached = scope.cache.get(key)
    version = scope.store.version("fields", scope.account_id)
    if not fresh and cached is not None and cached[0] == version:
        return cached[1]

    def unit(w: Writer) -> Registry:
        _seed(w)
        return load_registry(w)

    def read(r: Reader) -> Registry | None:
        return load_registry(r) if r.aliases_seeded() >= SEED_VERSION else None

    reg = await scope.read(read) or await scope.write(unit)
    scope.cache[key] = (version, reg)
    return reg


# ---------------------------------------------------------------- values of custom fields

_TRUE = {"true", "yes", "y", "1", "oui", "o", "vrai", "x"}
_FALSE = {"false", "no", "n", "0", "non", "faux"}


def coerce(f: FieldDef, value: Any, where: str) -> Any:
    """A custom field's value in its stored type; None for empty. Raises InvalidInput with the accepted form."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if f.type == "text":
        return clean_text(where, value, TEXT_VALUE_MAX)
    if f.type == "number":
        if isinstance(value, bool):
            raise InvalidInput(where, "expects a number, received a boolean")
        if isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidInput(where, f"{value!r} is not a number; use digits like 42 or 3.5")
            return value
        text = str(value).strip().replace("\u00a0", "").replace(" ", "")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")  # French decimal comma
        try:
            number = float(text)
        except ValueError:
            raise InvalidInput(where, f"{value!r} is not a number; use digits like 42 or 3.5") from None
        if not math.isfinite(number):  # 'inf', 'NaN': no JSON holds them (PostgreSQL's jsonb refuses the row)
            raise InvalidInput(where, f"{value!r} is not a number; use digits like 42 or 3.5")
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    if f.type == "date":
        return normalize_date(value, where)
    if f.type == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidInput(where, f"{value!r} is not a boolean; use true/false (yes/no, oui/non, 1/0 are read too)")
    # choice
    text = str(value).strip()
    if (choice := f.choice_keys.get(text.lower())) is not None:
        return choice
    raise InvalidInput(where, f"{text!r} is not one of the choices: {', '.join(f.choices or ())}")


def unknown_attributes(reg: Registry, names: list[str]) -> InvalidInput:
    known = ", ".join(c.name for c in reg.custom) or "none yet"
    shown = ", ".join(f"attributes.{n[:40]}" for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5
                                                                     else "")
    verb = "is no field" if len(names) == 1 else "are no fields"
    return InvalidInput(shown, f"{verb}, by name or alias (custom fields: {known}); create one with manage_fields "
                               "(or upsert_contacts create_fields=true)")


def match_attributes(reg: Registry, values: dict[str, Any]) -> tuple[dict[str, tuple[str, Any]], dict[str, Any]]:
    """Attributes matched to fields by name or alias, in any case (like headers): the built-in ones as
    field -> (attribute name, value), the custom ones checked against their type as field -> value."""
    builtin: dict[str, tuple[str, Any]] = {}
    custom: dict[str, Any] = {}
    named: dict[str, str] = {}
    errors: list[InvalidInput] = []
    unknown: list[str] = []
    for name, value in values.items():
        target = reg.resolve(name)
        if target is None:
            unknown.append(name)
            continue
        if target in named:
            errors.append(InvalidInput(f"attributes.{name[:40]}", f"and attributes.{named[target][:40]} both set "
                                                                  f"field '{target}'; give it once"))
            continue
        named[target] = name
        f = reg.fields[target]
        if f.builtin:
            builtin[target] = (name, value)
            continue
        try:
            custom[target] = coerce(f, value, f"attributes.{name[:40]}")
        except InvalidInput as exc:
            errors.append(exc)
    if unknown:
        errors.insert(0, unknown_attributes(reg, unknown))
    if errors:
        raise all_invalid(errors)
    return builtin, custom


def field_name_for(name: str) -> str | None:
    """The custom field name an attribute name makes ("Loyalty Tier" -> "loyalty_tier"), folding like it."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")
    return slug if FIELD_NAME.match(slug) and slug not in RESERVED_NAMES and fold(slug) == fold(name) else None


async def create_text_fields(scope: Scope, names: list[str]) -> Registry:
    """The registry once each of `names` that matches no field is a new text field (create_fields=true)."""
    reg = await registry(scope)
    made = {n: field_name_for(n) for n in names if reg.resolve(n) is None}
    for name, field_name in made.items():  # all checked before any is created
        if field_name is None:
            raise InvalidInput(f"attributes.{name[:40]}", "cannot be made a field name (lower-case letters, digits "
                                                          "and '_', starting with a letter); create the field with "
                                                          "manage_fields and give it this name as an alias")
    for field_name in dict.fromkeys(made.values()):
        try:
            await create_field(scope, field_name, "text", None)
        except Conflict:
            pass  # created meanwhile by another call; checked below
    reg = await registry(scope, fresh=True)
    missing = [n for n in names if reg.resolve(n) is None]
    if missing:
        raise unknown_attributes(reg, missing)
    return reg


# ---------------------------------------------------------------- operations


async def _changing(scope: Scope, unit: Any) -> FieldsChange:
    return await scope.write(unit)  # the fields version it raises makes every process reload the registry


def _info(f: FieldDef) -> FieldInfo:
    return FieldInfo(name=f.name, type=f.type, builtin=f.builtin, choices=list(f.choices) if f.choices else None,
                     aliases=list(f.aliases))


def _check_choices(type_: str, choices: list[str] | None) -> list[str] | None:
    if type_ != "choice":
        if choices:
            raise InvalidInput("choices", "only fields of type 'choice' have choices")
        return None
    cleaned = list(dict.fromkeys(c for c in (clean_text("choices", c, 100) for c in choices or []) if c))
    if not cleaned:
        raise InvalidInput("choices", "a 'choice' field needs at least one choice, e.g. ['gold', 'silver']")
    if len(cleaned) > CHOICES_MAX:
        raise InvalidInput("choices", f"at most {CHOICES_MAX} choices allowed, received {len(cleaned)}")
    return cleaned


def _custom(reg: Registry, name: str) -> FieldDef:
    f = reg.fields.get(name)
    if f is None:
        raise NotFound("field", [name], "List fields with get_fields.")
    if f.builtin:
        raise InvalidInput("name", f"'{name}' is a built-in field; only custom fields can be changed or deleted")
    return f


async def create_field(scope: Scope, name: str | None, type_: str | None, choices: list[str] | None) -> FieldsChange:
    name = (name or "").strip()
    if not FIELD_NAME.match(name):
        raise InvalidInput("name", f"{name!r} is not a field name: lower-case letters, digits and '_', starting "
                                   "with a letter (e.g. 'loyalty_tier')")
    if name in RESERVED_NAMES:
        raise InvalidInput("name", f"'{name}' is reserved (a contact argument, not a field); choose another name")
    if type_ is None:
        raise InvalidInput("type", "is required: text, number, date, boolean or choice")
    cleaned = _check_choices(type_, choices)

    def unit(w: Writer) -> FieldsChange:
        _seed(w)
        reg = load_registry(w)
        if name in reg.fields:
            raise Conflict(f"a field named '{name}' already exists; choose another name")
        if fold(name) in reg.keys:
            raise Conflict(f"'{name}' is already an alias of field '{reg.keys[fold(name)]}'; choose another name")
        if len(reg.custom) >= CUSTOM_FIELDS_MAX:
            raise Conflict(f"at most {CUSTOM_FIELDS_MAX} custom fields per account; delete one first")
        w.insert_field(name, type_, cleaned, utc_now())
        return FieldsChange(field=_info(load_registry(w).fields[name]))

    return await _changing(scope, unit)


async def update_field(scope: Scope, name: str | None, type_: str | None, choices: list[str] | None) -> FieldsChange:
    """Change a choice field's choices. A type is fixed at creation: stored values were checked against it."""
    def unit(w: Writer) -> FieldsChange:
        reg = load_registry(w)
        f = _custom(reg, name or "")
        if type_ is not None and type_ != f.type:
            raise InvalidInput("type", f"field '{f.name}' is of type {f.type}; a type cannot change. Create a new "
                                       "field (and delete this one) instead")
        if choices is None:
            raise InvalidInput("choices", "give the new list of choices (the only thing update changes)")
        w.update_field(f.name, f.type, _check_choices(f.type, choices))
        return FieldsChange(field=_info(load_registry(w).fields[f.name]))

    return await _changing(scope, unit)


async def delete_field(scope: Scope, name: str | None) -> FieldsChange:
    def unit(w: Writer) -> FieldsChange:
        f = _custom(load_registry(w), name or "")
        refuse_if_named(w, "field", [f.name])
        return FieldsChange(deleted_field=f.name, contacts_changed=w.delete_field(f.name))

    return await _changing(scope, unit)


async def set_alias(scope: Scope, field_name: str, alias: str, remove: bool) -> FieldsChange:
    text = clean_text("alias", alias, 100)
    key = fold(text or "")
    if not key:
        raise InvalidInput("alias", "needs at least one letter or digit")

    def unit(w: Writer) -> FieldsChange:
        _seed(w)
        reg = load_registry(w)
        if field_name not in reg.fields:
            raise NotFound("field", [field_name], "List fields with get_fields.")
        owner = reg.keys.get(key)
        if remove:
            if owner != field_name or not w.delete_alias(key):
                raise NotFound(f"alias of field '{field_name}'", [text],
                               f"Its aliases are: {', '.join(reg.fields[field_name].aliases) or 'none'}.")
        else:
            if owner == field_name:
                return FieldsChange(field=_info(reg.fields[field_name]))
            if owner is not None:
                what = "the name" if fold(owner) == key else "an alias"
                raise Conflict(f"'{text}' is already {what} of field '{owner}'; remove it there first "
                               f"(set_field_alias field='{owner}' remove=true) or choose another alias")
            if len(reg.fields[field_name].aliases) >= ALIASES_PER_FIELD_MAX:
                raise Conflict(f"field '{field_name}' already has {ALIASES_PER_FIELD_MAX} aliases; remove one first")
            w.insert_aliases([(field_name, text, key)], utc_now())
        return FieldsChange(field=_info(load_registry(w).fields[field_name]))

    return await _changing(scope, unit)


async def get_fields(scope: Scope, *, names: list[str] | None, limit: int, cursor: str | None) -> FieldPage:
    reg = await registry(scope)
    if names:
        unknown = [n for n in names if n not in reg.fields]
        return FieldPage(fields=[_info(reg.fields[n]) for n in dict.fromkeys(names) if n in reg.fields],
                         not_found=unknown)
    after = decode_cursor(cursor, {"fields": True}) or 0
    infos = [_info(f) for f in reg.fields.values()]
    position = {info.name: i + 1 for i, info in enumerate(infos)}  # built-ins first, then custom by creation
    kept, next_cursor = page(infos[after:after + limit + 1], limit=limit, key=lambda info: position[info.name],
                             query={"fields": True})
    return FieldPage(fields=kept, next_cursor=next_cursor)
