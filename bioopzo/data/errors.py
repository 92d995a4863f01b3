"""Errors about data on disk (both are ConfigErrors: the CLI prints them and exits with 2)."""

from bioopzo.errors import ConfigError

__all__ = ["DatasetFilesError", "CorruptEventFileError"]


class DatasetFilesError(ConfigError):
    """A data set's folder is missing or incomplete; the message names the data set,
    the expected layout, the missing files and where the data set is published."""


class CorruptEventFileError(ConfigError):
    """A data file exists but cannot be decoded; the message names the file."""
