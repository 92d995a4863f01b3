"""The names of the data sets bioopzo reads, in a module that imports nothing of bioopzo.

config.py checks ``[data] dataset`` against :data:`DATASET_NAMES` and the data
modules dispatch on :data:`EVENT_DATASETS`; both import the names from here, so
that imports point one way (config -> this module, data modules -> this module)
and the data modules need not import config.py (nor, through it, Brian2).
config.py re-exports both names.
"""

from __future__ import annotations

__all__ = ["EVENT_DATASETS", "DATASET_NAMES"]

#: data sets read from event files in a user's folder (bioopzo.data.tonic_datasets)
EVENT_DATASETS: tuple[str, ...] = ("nmnist", "shd", "dvsgesture")

#: every data set: the embedded ones (bioopzo.data.datasets), then the event ones
DATASET_NAMES: tuple[str, ...] = ("digits", "mnist1d", *EVENT_DATASETS)
