"""What goes wrong talking to other hosts. Worded like core's errors (the argument, then the problem), so
a caller may show them as they are; core and tools treat them like their own refusals."""


class OutboundError(Exception):
    """A URL was refused, or a transfer failed."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


class OutboundLimit(OutboundError):
    """A transfer exceeded a limit (size, redirects)."""

    def __init__(self, what: str, limit: int | str, received: int | str, hint: str = "") -> None:
        Exception.__init__(self, f"{what}: at most {limit} allowed, received {received}." + (f" {hint}" if hint else ""))
        self.field = what
