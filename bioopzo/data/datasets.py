"""Embedded data sets that need no download, the stratified split, and the
dispatch to the event data sets read from the user's folder (tonic_datasets).

Every data set is returned as intensities in [0, 1] (one row per sample, one
column per input neuron) plus integer labels; encoders turn intensities into
per-step inputs.

- ``digits``: scikit-learn's ``load_digits`` (1797 8x8 images, 10 classes,
  values 0..16 scaled to [0, 1]); it ships inside the scikit-learn wheel.
- ``mnist1d``: Greydanus' MNIST-1D (4000 + 1000 sequences of length 40,
  10 classes), generated offline by ``mnist1d.data.make_dataset`` with its
  default arguments (seed 42); values min-max scaled to [0, 1] with the
  training set's range.

With ``normalization = "standardize"`` each input is instead shifted and
scaled by the mean and standard deviation of the (final) training set,
x' = (x - mean_train) / sd_train, signed values for the ``direct`` encoder.
With ``validation_fraction`` f > 0, a stratified share f of the training set
(``default_rng([seed, 13])``) becomes the evaluation set in place of the test
set (``Dataset.evaluation == "validation"``); the statistics of the
normalization then come from the remaining training samples only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bioopzo.data.names import EVENT_DATASETS
from bioopzo.data.samples import (Dataset, check_intensities, check_labels, standardize,
                                  stratified_split, stratified_subset, validation_split)
from bioopzo.data.tonic_datasets import load_event_dataset
from bioopzo.errors import ConfigError

if TYPE_CHECKING:
    from bioopzo.config import DataConfig

__all__ = ["load_dataset"]


def _load_digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data / 16.0, bunch.target, None


def _load_mnist1d():
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:  # pragma: no cover - dependency declared in pyproject
        raise ConfigError("the mnist1d data set needs the 'mnist1d' package: pip install mnist1d") from None
    data = make_dataset(get_dataset_args())
    x = np.concatenate([data["x"], data["x_test"]]).astype(np.float64)
    y = np.concatenate([data["y"], data["y_test"]])
    n_train = len(data["y"])
    lo, hi = data["x"].min(), data["x"].max()
    x = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return x, y, n_train


_LOADERS = {"digits": _load_digits, "mnist1d": _load_mnist1d}


def load_dataset(config: DataConfig, seed: int) -> Dataset:
    """Load an embedded data set and split it (stratified, seeded).

    ``digits`` has no official split, so ``config.test_fraction`` of each class
    goes to the test set. ``mnist1d`` keeps its own 4000/1000 split. With
    ``config.limit`` a stratified subset of that many samples is used first
    (for mnist1d the limit applies to train and test in proportion).
    The event data sets (nmnist, shd, dvsgesture) are read from
    ``config.data_dir`` by :mod:`bioopzo.data.tonic_datasets`; their inputs are
    lazy (N, T, n) frame sources.
    """
    if config.dataset in EVENT_DATASETS:
        return load_event_dataset(config, seed)
    if config.dataset not in _LOADERS:
        raise ConfigError(f"unknown data set {config.dataset!r}; choose one of {sorted(_LOADERS)}")
    split_seed = seed if config.split_seed is None else config.split_seed
    rng = np.random.default_rng([split_seed, 7])
    x, y, n_train = _LOADERS[config.dataset]()
    x = check_intensities(x, f"{config.dataset} inputs")
    n_classes = int(y.max()) + 1
    y = check_labels(y, n_classes, f"{config.dataset} labels")
    if n_train is None:
        if config.limit is not None:
            keep = stratified_subset(y, config.limit, rng)
            x, y = x[keep], y[keep]
        train, test = stratified_split(y, config.test_fraction, rng)
    else:
        train, test = np.arange(n_train), np.arange(n_train, len(y))
        if config.limit is not None:
            n_tr = max(1, int(round(config.limit * n_train / len(y))))
            train = train[stratified_subset(y[train], n_tr, rng)]
            test = test[stratified_subset(y[test], max(1, config.limit - n_tr), rng)]
    evaluation = "test"
    if config.validation_fraction > 0:
        train, test = validation_split(train, y, config.validation_fraction, seed)
        evaluation = "validation"
    x_train, x_test = x[train], x[test]
    if config.normalization == "standardize":
        x_train, x_test = standardize(x_train, x_test)
    return Dataset(config.dataset, x_train, y[train], x_test, y[test], n_classes, evaluation)
