"""Frames held as their non-zero entries (data/sparse_frames.py), and the lazy
runs that pass them to cpp_standalone without dense frames (data/epochs.py,
network.run_args)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_config

from bioopzo.data.epochs import SampleInputs, SparseValues, ZeroSamples, make_epoch_data
from bioopzo.data.frames import Binning, EventFrames
from bioopzo.data.sparse_frames import SparseFrames
from bioopzo.devices import make_simulator
from bioopzo.state import initial_state

N, T, N_IN, N_OUT = 24, 6, 35, 3


def _dense(rng, n=N):
    x = np.where(rng.random((n, T, N_IN)) < 0.15, rng.integers(1, 4, (n, T, N_IN)), 0)
    x = x.astype(np.float32)
    x[1, 2, 3] = -0.0          # kept, as SparseValues keeps it
    x[4] = 0                   # a sample without events
    return x


def _same_bits(a, b):
    np.testing.assert_array_equal(np.asarray(a, np.float32).view(np.uint32),
                                  np.asarray(b, np.float32).view(np.uint32))


def test_from_dense_gives_back_every_frame_and_sparse_rows(rng):
    x = _dense(rng)
    frames = SparseFrames.from_dense(x, chunk=5)
    assert frames.shape == x.shape and len(frames) == N and frames.ndim == 3
    assert frames.positions.size == np.count_nonzero(x.view(np.uint32))
    _same_bits(frames[np.arange(N)], x)
    _same_bits(frames[3], x[3])
    _same_bits(frames[-2], x[-2])
    _same_bits(frames[5:11], x[5:11])
    _same_bits(np.asarray(frames), x)
    for idx in ([7, 1, 1, 23, 4], [], [4]):
        got, want = frames.sparse_rows(idx), SparseValues.of(x[idx])
        np.testing.assert_array_equal(got.index, want.index)
        _same_bits(got.values, want.values)
        assert got.size == want.size == len(idx) * T * N_IN
    assert frames.nbytes < x.nbytes / 2


def test_bad_entries_are_refused():
    with pytest.raises(ValueError, match="offsets"):
        SparseFrames([0, 2, 1], [0, 1], [1.0, 1.0], (2, T, N_IN))
    with pytest.raises(ValueError, match="positions must lie"):
        SparseFrames([0, 1], [T * N_IN], [1.0], (1, T, N_IN))
    with pytest.raises(ValueError, match="entries expected"):
        SparseFrames([0, 2], [0], [1.0], (1, T, N_IN))
    frames = SparseFrames([0, 1], [5], [1.0], (1, T, N_IN))
    with pytest.raises(IndexError):
        frames[3]


def test_event_frames_give_their_entries_from_the_counts(rng):
    binning = Binning(sensor_size=(5, 7, 1), steps=T)
    recordings = []
    for _ in range(6):
        k = rng.integers(0, 40)
        events = np.zeros(k, dtype=[("x", int), ("y", int), ("p", int), ("t", int)])
        events["x"], events["y"] = rng.integers(0, 5, k), rng.integers(0, 7, k)
        events["t"] = np.sort(rng.integers(0, 1000, k))
        recordings.append(events)
    source = EventFrames(lambda i: recordings[i], np.arange(6), binning)
    idx = np.array([5, 0, 2, 2])
    got, want = source.sparse_rows(idx), SparseValues.of(source[idx])
    np.testing.assert_array_equal(got.index, want.index)
    _same_bits(got.values, want.values)
    assert got.size == want.size


def test_sample_inputs_subset_and_sparse_rows(rng):
    a, b = _dense(rng, 10), _dense(rng, 7)
    inputs = SampleInputs([(SparseFrames.from_dense(a), np.array([3, 1, 9])),
                           (SparseFrames.from_dense(b), np.arange(7))])
    dense = np.concatenate([a[[3, 1, 9]], b])
    got = inputs.sparse_rows(2, 8)
    want = SparseValues.of(dense[2:8])
    np.testing.assert_array_equal(got.index, want.index)
    _same_bits(got.values, want.values)
    part = inputs.subset(2, 8, padding=3)
    assert part.shape == (9, T, N_IN)
    _same_bits(part.rows(0, 9), np.concatenate([dense[2:8], np.zeros((3, T, N_IN))]))
    assert part.sparse_rows(0, 9).size == 9 * T * N_IN
    assert ZeroSamples(2, (T, N_IN))[np.arange(2)].shape == (2, T, N_IN)
    # a dense array source does not give its entries: the caller scans
    assert SampleInputs([(dense, np.arange(len(dense)))]).sparse_rows(0, 4) is None
    data = make_epoch_data(SparseFrames.from_dense(a), np.arange(10) % N_OUT, a[:0],
                           np.zeros(0, int), 1)
    lazy = data.chunk(4, 10, size=8, lazy=True)
    assert isinstance(lazy.inputs, SampleInputs) and lazy.n_padding == 2
    np.testing.assert_array_equal(lazy.sparse_inputs().index,
                                  SparseValues.of(np.concatenate([a[4:10], np.zeros((2, T, N_IN))])).index)


def _config():
    return small_config(network={"hidden": [16]}, data={"encoding": "frames", "steps_per_sample": T},
                        device={"name": "cpp_standalone", "threads": 1},
                        optimizer={"learning_rate": 0.1, "schedule": "sample"})


@pytest.mark.standalone
def test_compiled_runs_from_sparse_frames_equal_dense_ones(tmp_path, rng, monkeypatch):
    """cpp_standalone learns bit for bit the same from SparseFrames as from the
    dense array, and after its build never asks the source for dense frames."""
    x = _dense(rng)
    y = rng.integers(0, N_OUT, N)
    config = _config()
    state = initial_state(config, N_IN, N_OUT, 1)
    order = rng.permutation(N)
    dense_data = make_epoch_data(x, y, x[:0], y[:0], 1, order=order)
    sparse_data = make_epoch_data(SparseFrames.from_dense(x), y, x[:0], y[:0], 1, order=order)
    with make_simulator(config, N_IN, N_OUT, tmp_path / "net") as sim:
        want = sim.run_epoch(dense_data, state, 7)
        assert not np.allclose(want.state["W1"], state["W1"]), "the test network must learn"
        monkeypatch.setattr(SparseFrames, "__getitem__",
                            lambda self, idx: pytest.fail("dense frames were built"))
        got = sim.run_epoch(sparse_data, state, 7)
    for key, value in want.state.items():
        np.testing.assert_array_equal(got.state[key], value, err_msg=key)
    np.testing.assert_array_equal(got.o_sum, want.o_sum)
    np.testing.assert_array_equal(got.loss, want.loss)
