"""One exception family. Every message names the input, what was wrong and the fix.

The CLI prints `str(error)` without a traceback and exits with `error.exit_code`.
"""

from __future__ import annotations


class MastheadError(Exception):
    """Base of every error the user can act on."""

    exit_code = 1

    def __init__(self, message: str, *, field: str | None = None, fix: str | None = None):
        self.message = message
        self.field = field
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = []
        if self.field:
            parts.append(f"{self.field}: ")
        parts.append(self.message)
        if self.fix:
            parts.append(f" (fix: {self.fix})")
        return "".join(parts)


class ConfigError(MastheadError):
    """masthead.toml, a project YAML or a recipe YAML is wrong."""

    exit_code = 2


class NotFoundError(MastheadError):
    """A named thing (project, recipe, piece, channel, workspace) does not exist."""

    exit_code = 3


class InputError(MastheadError):
    """A command argument or input file is unusable."""

    exit_code = 2


class ConcurrencyConflict(MastheadError):
    """Another writer appended to the same stream first (optimistic concurrency)."""

    exit_code = 4


class StaleRead(ConcurrencyConflict):
    """What a transaction read before it took the append lock changed before it got the lock
    (`Transaction.check_unchanged`): nothing of it landed; read again and decide again."""


class IntegrityError(MastheadError):
    """The log's hash chain or a projection does not match what replay produces."""

    exit_code = 5


class ProviderError(MastheadError):
    """A model provider failed. `transient` says whether a retry may succeed."""

    exit_code = 6

    def __init__(
        self,
        message: str,
        *,
        transient: bool = False,
        retry_after: float | None = None,
        field: str | None = None,
        fix: str | None = None,
    ):
        self.transient = transient
        self.retry_after = retry_after
        super().__init__(message, field=field, fix=fix)


class StateError(MastheadError):
    """The action does not fit the current state (approving a published piece...)."""

    exit_code = 7


class PermissionDenied(MastheadError):
    """The person's role or scope does not allow the action (docs/permissions.md); HTTP 403."""

    exit_code = 9
