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

from dataclasses import dataclass

import numpy as np

from bioopzo.config import EVENT_DATASETS, ConfigError, DataConfig

__all__ = ["Dataset", "load_dataset", "stratified_subset", "stratified_split", "validation_split",
           "standardize", "check_labels"]


@dataclass(frozen=True)
class Dataset:
    """Intensities in [0, 1] and integer labels, split into train and test."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    #: what x_test / y_test hold: the data set's "test" split, or a "validation"
    #: split carved from its training set
    evaluation: str = "test"

    @property
    def n_inputs(self) -> int:
        """Inputs per step: the last axis of (N, n) intensities or (N, T, n) frame sources."""
        return int(self.x_train.shape[-1])

    def __repr__(self) -> str:
        return (f"<Dataset {self.name!r}: {len(self.y_train)} train, {len(self.y_test)} {self.evaluation}, "
                f"{self.n_inputs} inputs, {self.n_classes} classes>")


def check_labels(labels: np.ndarray, n_classes: int, what: str = "labels") -> np.ndarray:
    """Labels must be integers in 0..n_classes-1; anything else is a clear error."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ConfigError(f"{what} must be a 1-d array of class indices, got shape {labels.shape}")
    if labels.size and not np.all(np.equal(np.mod(labels, 1), 0)):
        raise ConfigError(f"{what} must be whole numbers (class indices)")
    labels = labels.astype(np.int64)
    bad = labels[(labels < 0) | (labels >= n_classes)]
    if bad.size:
        raise ConfigError(
            f"{what} contain {bad.size} value(s) outside the classes 0..{n_classes - 1} "
            f"(first: {int(bad[0])}); relabel the data or raise the number of classes"
        )
    return labels


def check_intensities(x: np.ndarray, what: str = "inputs") -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"{what} must be a 2-d array (samples x inputs), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ConfigError(f"{what} contain NaN or infinite values")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ConfigError(
            f"{what} must be intensities in [0, 1] (got range {x.min():g}..{x.max():g}); "
            "rescale them first"
        )
    return x


def stratified_subset(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a subset of size ``n`` with class proportions kept (sorted)."""
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.floor(counts / counts.sum() * n).astype(int)
    # hand out the remaining places to the classes with the largest remainders
    remainder = counts / counts.sum() * n - quota
    for idx in np.argsort(-remainder)[: n - quota.sum()]:
        quota[idx] += 1
    chosen = [rng.choice(np.flatnonzero(labels == c), size=q, replace=False)
              for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(chosen))


def stratified_split(labels: np.ndarray, test_fraction: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices with each class split in the same proportion."""
    labels = np.asarray(labels)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(idx) * test_fraction))
        n_test = min(max(n_test, 1), len(idx) - 1) if len(idx) > 1 else 0
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


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
        from bioopzo.data.tonic_datasets import load_event_dataset

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


def validation_split(train: np.ndarray, labels: np.ndarray, fraction: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``train`` split into (remaining training, validation): a stratified
    share ``fraction`` of each class, drawn by ``default_rng([seed, 13])``."""
    rng = np.random.default_rng([seed, 13])
    keep, val = stratified_split(np.asarray(labels)[train], fraction, rng)
    if len(keep) == 0 or len(val) == 0:
        raise ConfigError(f"[data] validation_fraction = {fraction:g} leaves no training or no "
                          f"validation sample out of {len(train)}; choose a share between them")
    return train[keep], train[val]


def standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-input (x - mean) / sd with the training set's statistics (sd 0 -> 1)."""
    mean = x_train.mean(axis=0)
    sd = x_train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (x_train - mean) / sd, (x_test - mean) / sd
