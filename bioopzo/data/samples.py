"""A data set's samples: the train/evaluation record, the checks every input
and label passes, and the stratified splits.

- :class:`Dataset`: inputs (intensities (N, n) in [0, 1], or (N, T, n) frame
  sources) and integer labels, split into train and evaluation sets.
- ``check_labels``: labels are integers in 0..m-1; ``check_intensities``:
  (N, n) finite values in [0, 1].
- ``stratified_subset`` / ``stratified_split``: each class keeps its share
  (largest remainders fill the places a floor leaves).
- ``validation_split``: a stratified share f of the training indices, drawn by
  ``default_rng([seed, 13])``, becomes the validation set.
- ``standardize``: x' = (x - mean_train) / sd_train per input (sd 0 -> 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bioopzo.errors import ConfigError

__all__ = ["Dataset", "check_labels", "check_intensities", "stratified_subset",
           "stratified_split", "validation_split", "standardize"]


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
