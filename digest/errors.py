"""One exception family for everything `digest` reports to a user.

Each error carries the problems behind it (file, field, what is wrong, how to
fix it) and the exit code the CLI turns it into.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file: where, what and how to fix it."""

    path: str
    field: str
    message: str
    fix: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        where = self.path + (f": {self.field}" if self.field else "")
        text = f"{where}: {self.message}"
        return f"{text} ({self.fix})" if self.fix else text

    def to_dict(self) -> dict[str, str]:
        return {
            "path": self.path,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
            "severity": self.severity,
        }


def display_path(path: Path | str, root: Path | None = None) -> str:
    """A path as the user should read it: relative to `root` (or the cwd) when inside it."""
    p = Path(path)
    for base in (root, Path.cwd()):
        if base is None:
            continue
        try:
            return p.resolve().relative_to(base.resolve()).as_posix()
        except (ValueError, OSError):
            continue
    return p.as_posix()


class DigestError(Exception):
    """Base of every error `digest` reports; `exit_code` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])


class ContentError(DigestError):
    """An article, issue definition or content folder is invalid."""


class ConfigError(DigestError):
    """The newsletter configuration is invalid."""


class UsageError(DigestError):
    """The command line asks for something impossible (exit code 2)."""

    exit_code = 2


class RenderError(DigestError):
    """A template or the MJML/CSS pipeline failed."""


class ExportError(DigestError):
    """Writing, exporting or sending an issue failed."""
