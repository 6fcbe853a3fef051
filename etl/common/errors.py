"""The domain's exceptions: user errors carry a Chinese message, never a traceback."""


class HemonError(Exception):
    """A problem to show to the user as it is."""


class InputRejected(HemonError):
    """A file was rejected whole; `problems` lists (line or cell, message) for each bad row."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def __str__(self) -> str:
        lines = [self.message] + [f"  {where}: {msg}" for where, msg in self.problems]
        return "\n".join(lines)
