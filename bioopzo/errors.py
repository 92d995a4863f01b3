"""The package's base errors, in a module that imports nothing (and so no Brian2).

:class:`Interrupted` is a stop the user asked for (SIGINT, or SIGTERM turned into
an interrupt by the command line): a ``KeyboardInterrupt`` that knows its signal, so
that the command line exits with 128 + the signal's number (130 for SIGINT, 143 for
SIGTERM) and a message saying how to continue.

:class:`ConfigError` is raised by config.py and by every module that checks a
user's input (data sets, labels, rule and device names, run folders); the CLI
prints it and exits with 2. Modules that need nothing else of the config import
it from here, so that importing them does not import config.py, whose values
are Brian2 quantities (bioopzo.reference must run without Brian2).
config.py re-exports it: ``bioopzo.config.ConfigError`` is the same class.
"""

__all__ = ["ConfigError", "Interrupted"]


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or unit."""


class Interrupted(KeyboardInterrupt):
    """The user stopped the command with signal ``signum`` (2: SIGINT, 15: SIGTERM);
    ``message`` says where it stopped and how to continue (empty: nothing to say)."""

    def __init__(self, signum: int = 2, message: str = ""):
        super().__init__(message)
        self.signum = signum
        self.message = message

    @property
    def exit_status(self) -> int:
        """128 + the signal number, as a shell reports a process ended by that signal."""
        return 128 + self.signum
