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


def test_validation_split_is_carved_from_the_training_set_only():
    base = load_dataset(DataConfig(split_seed=0), seed=3)
    val = load_dataset(DataConfig(split_seed=0, validation_fraction=0.2), seed=3)
    assert val.evaluation == "validation" and base.evaluation == "test"
    assert len(val.y_train) + len(val.y_test) == len(base.y_train)
    rows = {tuple(r) for r in base.x_train}
    assert all(tuple(r) in rows for r in val.x_test)             # validation inside train
    # split_seed fixes the test set across seeds; the seed draws the validation split
    other = load_dataset(DataConfig(split_seed=0), seed=4)
    np.testing.assert_array_equal(other.x_test, base.x_test)
    val4 = load_dataset(DataConfig(split_seed=0, validation_fraction=0.2), seed=4)
    assert not np.array_equal(val4.y_test, val.y_test) or not np.array_equal(val4.x_test, val.x_test)
    with pytest.raises(ConfigError, match="leaves no"):
        load_dataset(DataConfig(limit=4, validation_fraction=0.01), seed=1)


def test_standardize_uses_training_statistics():
    cfg = DataConfig(dataset="mnist1d", encoding="direct", normalization="standardize", limit=500)
    ds = load_dataset(cfg, seed=1)
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-12)
    assert abs(ds.x_test.mean()) < 0.2 and not np.allclose(ds.x_test.mean(axis=0), 0, atol=1e-12)
    raw = load_dataset(DataConfig(dataset="mnist1d", limit=500), seed=1)
    np.testing.assert_allclose(ds.x_test, (raw.x_test - raw.x_train.mean(0)) / raw.x_train.std(0))
