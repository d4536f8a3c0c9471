"""The PipeError family: every error a user can meet, with its exit code and its fix."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the data or a gate said no
    USAGE = 2


class PipeError(Exception):
    """An error the user can act on; the message says what is wrong and what to do."""

    code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class UsageError(PipeError):
    code = ExitCode.USAGE


class NoPipelineError(PipeError):
    pass


class ConfigError(PipeError):
    pass


class ContactNotFound(PipeError):
    pass


class AmbiguousContact(PipeError):
    pass


class OwnerNotFound(PipeError):
    """--owner names nobody (or several people) among the contacts' owners."""


class GateError(PipeError):
    """A promotion refused because its gate is not met."""


class ConcurrentChange(PipeError):
    pass


class FileProblem(PipeError):
    """A contact file that cannot be read or written as it stands."""


class GitError(PipeError):
    """git said no, or the pipeline is not in a state where the git step can run."""


class UndoRefused(GitError):
    pass


class SyncConflict(GitError):
    """`pipe sync` stopped because the same contacts changed on both sides."""


class InputError(PipeError):
    """A file to import that is not what it says, or rows in it that cannot be read (with their lines)."""
