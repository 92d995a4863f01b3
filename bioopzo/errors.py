"""The package's base error, in a module that imports nothing (and so no Brian2).

:class:`ConfigError` is raised by config.py and by every module that checks a
user's input (data sets, labels, rule and device names, run folders); the CLI
prints it and exits with 2. Modules that need nothing else of the config import
it from here, so that importing them does not import config.py, whose values
are Brian2 quantities (bioopzo.reference must run without Brian2).
config.py re-exports it: ``bioopzo.config.ConfigError`` is the same class.
"""

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or unit."""
