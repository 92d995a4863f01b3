"""Epochs stream through the model in runs of a fixed size; per-step frames.

An epoch split into several simulation runs (state carried from run to run,
the last run padded with inert samples) must learn exactly what one run
learns; frames reach the input layer unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_config

from bioopzo.config import ConfigError
from bioopzo.devices import make_simulator
from bioopzo.data.epochs import make_epoch_data
from bioopzo.network import BrianNetwork
from bioopzo.state import initial_state
from bioopzo.reference import ReferenceModel

N_IN, N_OUT = 12, 3


def test_chunks_are_padded_with_inert_samples(rng):
    x = rng.random((7, N_IN))
    y = np.arange(7) % N_OUT
    data = make_epoch_data(x[:5], y[:5], x[5:], y[5:], 1, order=np.arange(5)[::-1])
    chunks = list(data.chunks(3))
    assert [c.n_samples for c in chunks] == [3, 3, 3]
    assert [c.n_padding for c in chunks] == [0, 0, 2]
    np.testing.assert_array_equal(chunks[0].inputs[0], x[4])
    np.testing.assert_array_equal(chunks[2].inputs[0], x[6])
    np.testing.assert_array_equal(chunks[2].inputs[1:], 0)
    np.testing.assert_array_equal(chunks[2].learning_rate_factors, [0, 0, 0])
    np.testing.assert_array_equal(chunks[1].learning_rate_factors, [1, 1, 0])


@pytest.mark.parametrize("schedule", ["step", "sample"])
def test_epoch_in_several_runs_equals_one_run(rng, schedule):
    """Deterministic model (bp, no noise, direct input): 7 samples in runs of 3
    (padded) give the same state and readouts as one run of 7."""
    cfg = small_config(rule={"name": "bp"}, noise={"scale": 0.0}, data={"encoding": "direct"},
                       optimizer={"schedule": schedule}, network={"hidden": [16]})
    x = rng.random((7, N_IN))
    y = rng.integers(0, N_OUT, 7)
    data = make_epoch_data(x[:5], y[:5], x[5:], y[5:], 1)
    state = initial_state(cfg, N_IN, N_OUT)
    results = {}
    for size in (3, 7):
        run_cfg = cfg.with_overrides({"training": {"samples_per_run": size}})
        with make_simulator(run_cfg, N_IN, N_OUT) as sim:
            results[size] = sim.run_epoch(data, state, seed=5)
    assert results[3].n_runs == 3 and results[7].n_runs == 1
    np.testing.assert_allclose(results[3].o_sum, results[7].o_sum, rtol=0, atol=1e-12)
    for key, value in results[7].state.items():
        np.testing.assert_allclose(results[3].state[key], value, rtol=0, atol=1e-12, err_msg=key)
    assert not np.allclose(results[7].state["W1"], state["W1"]), "the epoch must learn"


def test_input_memory_caps_the_run_size(rng):
    cfg = small_config(training={"samples_per_run": 1000, "max_run_input_mb": 0.001})
    x = rng.random((50, N_IN))
    y = rng.integers(0, N_OUT, 50)
    sim = make_simulator(cfg, N_IN, N_OUT)
    size = sim._run_size(make_epoch_data(x, y, x[:0], y[:0], 1))
    assert size == int(0.001 * 2**20) // (8 * N_IN)


def test_frames_reach_the_input_layer_unchanged(rng):
    """encoding = 'frames': x_0[t] is the data's per-step value; the reference
    given the same frames agrees spike for spike."""
    T = 6
    cfg = small_config(data={"encoding": "frames", "steps_per_sample": T}, noise={"scale": 0.0},
                       rule={"name": "dfa"}, optimizer={"schedule": "sample"})
    frames = (rng.random((4, T, N_IN)) < 0.3) * rng.integers(1, 3, (4, T, N_IN)).astype(float)
    y = np.array([0, 2, 1, 2])
    data = make_epoch_data(frames[:3], y[:3], frames[3:], y[3:], 1)
    state = initial_state(cfg, N_IN, N_OUT)
    net = BrianNetwork(cfg, N_IN, N_OUT, data, state,
                       record_states=[("inputs", "x"), ("hidden1", "s")])
    net.network.run(net.duration, namespace={})
    x = net.recorded("inputs", "x").T.reshape(4, T, N_IN)
    np.testing.assert_array_equal(x, frames)
    ref = ReferenceModel(cfg, N_IN, N_OUT, state)
    rec = ref.run(frames, data.labels, data.is_training, data.ends_batch, record=True)
    np.testing.assert_array_equal(net.recorded("hidden1", "s").T.reshape(4, T, -1), rec.spikes[0])
    brian_state = net.get_state()
    np.testing.assert_allclose(brian_state["W1"], ref.state["W1"], rtol=0, atol=1e-12)


def test_frames_need_per_step_data(rng):
    cfg = small_config(data={"encoding": "frames"})
    x = rng.random((3, N_IN))
    y = np.array([0, 1, 2])
    with pytest.raises(ConfigError, match="frames"):
        BrianNetwork(cfg, N_IN, N_OUT, make_epoch_data(x, y, x[:0], y[:0], 1),
                     initial_state(cfg, N_IN, N_OUT))
