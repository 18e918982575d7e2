"""Domain failures, each carrying a message written for the caller (often an AI assistant).

Every message says what was wrong and how to fix it: the bad value, the field, the accepted form or limit.
The tools layer turns any of these into an MCP tool error; anything else escaping is a bug.

    ContactsError
    ├── InvalidInput    a value fails validation (names the field and the accepted form)
    ├── NotFound        one or more ids are unknown (names every one of them)
    ├── LimitExceeded   a bound was crossed (names the limit and the value received)
    └── Conflict        the change clashes with existing data (names the record in the way)
"""

from __future__ import annotations


class ContactsError(Exception):
    """The request could not be completed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__)


class InvalidInput(ContactsError):
    """A value is not valid."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


def all_invalid(errors: list[InvalidInput]) -> InvalidInput:
    """One error naming every invalid field, so all can be fixed in one go."""
    if len(errors) == 1:
        return errors[0]
    combined = InvalidInput(errors[0].field, "")
    combined.args = ("; ".join(str(e) for e in errors),)
    return combined


class NotFound(ContactsError):
    """Some ids are unknown."""

    def __init__(self, kind: str, values: list | tuple, hint: str = "") -> None:
        self.kind = kind
        self.values = list(values)
        shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in self.values[:50])
        more = f" (and {len(self.values) - 50} more)" if len(self.values) > 50 else ""
        super().__init__(f"unknown {kind}: {shown}{more}." + (f" {hint}" if hint else ""))


class LimitExceeded(ContactsError):
    """A limit was exceeded."""

    def __init__(self, what: str, limit: int | str, received: int | str, hint: str = "") -> None:
        super().__init__(f"{what}: at most {limit} allowed, received {received}." + (f" {hint}" if hint else ""))


class Conflict(ContactsError):
    """The change conflicts with existing data."""
