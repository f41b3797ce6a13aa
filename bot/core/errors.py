"""Expected errors: each becomes a clear private message to the user and changes nothing."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a refused action; ``str(error)`` is shown to the user, privately.

    ``field`` names the form field or option at fault, so a form can show the error beside it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class PermissionDenied(UserError):
    """The person's role, or their sections, do not allow this."""


class NotOnRoster(UserError):
    """The person is not on the roster."""


class OptionError(UserError):
    """An option could not be parsed; the usage line is appended by the core."""


class StartupError(RuntimeError):
    """The bot cannot start: a setting, the database, a port or a file is wrong.

    ``str(error)`` is one line saying what to fix; the command line prints it as ``cohortbot: ...`` and exits 1.
    """
