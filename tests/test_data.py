"""Embedded data sets, stratified splits, encoders (NumPy and Brian2 forms)."""

import numpy as np
import pytest

from bioopzo.config import ConfigError, DataConfig
from bioopzo.data import check_labels, load_dataset, make_encoder, stratified_split, stratified_subset


def test_digits_split_is_stratified_and_seeded():
    ds = load_dataset(DataConfig(), seed=1)
    assert ds.n_inputs == 64 and ds.n_classes == 10
    assert len(ds.y_train) + len(ds.y_test) == 1797
    assert 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    frac = np.bincount(ds.y_test, minlength=10) / np.bincount(
        np.concatenate([ds.y_train, ds.y_test]), minlength=10)
    assert np.all(np.abs(frac - 0.2) < 0.02)
    again = load_dataset(DataConfig(), seed=1)
    np.testing.assert_array_equal(ds.y_test, again.y_test)
    other = load_dataset(DataConfig(), seed=2)
    assert not np.array_equal(ds.x_test, other.x_test)


def test_mnist1d_is_generated_offline():
    ds = load_dataset(DataConfig(dataset="mnist1d", limit=500), seed=1)
    assert ds.n_inputs == 40 and ds.n_classes == 10
    assert len(ds.y_train) == 400 and len(ds.y_test) == 100


def test_stratified_subset_keeps_proportions(rng):
    labels = np.repeat(np.arange(4), [100, 50, 30, 20])
    idx = stratified_subset(labels, 40, rng)
    assert len(idx) == 40
    np.testing.assert_array_equal(np.bincount(labels[idx]), [20, 10, 6, 4])
    train, test = stratified_split(labels, 0.2, rng)
    assert not set(train) & set(test)


def test_labels_outside_the_classes_are_an_error():
    with pytest.raises(ConfigError, match="outside the classes 0..9"):
        check_labels(np.array([0, 3, 10]), 10)
    with pytest.raises(ConfigError, match="whole numbers"):
        check_labels(np.array([0.5]), 10)


def test_encoders(rng):
    cfg = DataConfig(steps_per_sample=200, max_rate="500 Hz")
    from brian2 import ms
    x = np.array([[0.0, 0.5, 1.0]])
    rate = make_encoder(cfg, 1 * ms).encode(x, rng)
    assert rate.shape == (1, 200, 3)
    np.testing.assert_allclose(rate.mean(axis=1)[0], [0.0, 0.25, 0.5], atol=0.07)
    direct = make_encoder(DataConfig(encoding="direct", steps_per_sample=4), 1 * ms).encode(x, rng)
    np.testing.assert_array_equal(direct[0], np.tile(x, (4, 1)))
    lat = make_encoder(DataConfig(encoding="latency", steps_per_sample=5), 1 * ms).encode(
        np.array([[0.05, 0.5, 1.0]]), rng)
    # one spike at round((1 - I)(T - 1)); none below the cutoff
    assert lat[0, :, 0].sum() == 0
    assert lat[0, 2, 1] == 1 and lat[0, :, 1].sum() == 1
    assert lat[0, 0, 2] == 1 and lat[0, :, 2].sum() == 1
