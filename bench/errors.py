"""User-facing errors: the CLI prints their one-line message and exits 2, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix: a bad config, an unknown sampler, a missing model or file."""

    exit_code = 2
    os_errno: int | None = None  # the OS error behind it (a full disk), when there is one


class ConfigError(UserError):
    """A config error located in a file: names the file, the key path and the line."""

    def __init__(self, message: str, file: str | None = None, key: str | None = None, line: int | None = None) -> None:
        self.file, self.key, self.line, self.detail = file, key, line, message
        where = ":".join(str(p) for p in (file, line) if p is not None)
        location = f"{where}: " if where else ""
        key_part = f"{key}: " if key else ""
        super().__init__(f"{location}{key_part}{message}")


class ConfigErrors(ConfigError):
    """Every error found in one benchmark file, reported at once (one line each)."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        super().__init__(first.detail, first.file, first.key, first.line)
        self.errors = errors
        self.args = ("\n".join(str(e) for e in errors),)

    def __str__(self) -> str:
        return self.args[0]
