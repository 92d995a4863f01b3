"""Pathways on every OpenMP thread (openmp.py) learn what one thread learns.

``pathway_schedule`` must give the threaded template only to code it is safe
for: synaptic writes (``"synaptic"``), or one postsynaptic variable that is only
added to (``"accumulate"``). A compiled network with its replay and transmit
pathways threaded must spike and learn as the same network on Brian2's
master-thread schedule (to rounding: the input currents add in another order),
and two runs of one binary must agree bit for bit.
"""

from __future__ import annotations

import brian2
import numpy as np
import pytest
from brian2 import NeuronGroup, Synapses
from conftest import small_config

from bioopzo import openmp
from bioopzo.devices import make_simulator
from bioopzo.network import initial_state, make_epoch_data
from bioopzo.openmp import pathway_schedule

N_IN, N_OUT, T = 48, 4, 8


def _synapses(on_pre: str):
    source = NeuronGroup(3, "p : 1\nE : 1", threshold="p > 0", name="schedule_source*")
    target = NeuronGroup(2, "I : 1\nv : 1\nE : 1\nsub = 2*v : 1", name="schedule_target*")
    syn = Synapses(source, target, "w : 1\nw_acc : 1", on_pre=on_pre, name="schedule_syn*")
    return syn


@pytest.mark.parametrize("code,expected", [
    ("w -= p_pre*E_post", ("synaptic", None)),
    ("w_acc += p_pre*E_post\nw = w_acc", ("synaptic", None)),
    ("tmp = w*p_pre\nw -= tmp*E_post", ("synaptic", None)),
    ("I_post += w*p_pre", ("accumulate", "I_post")),
    ("I_post -= w\nw -= E_post", ("accumulate", "I_post")),
    ("I_post = w", (None, None)),                    # an assignment, not a sum
    ("I_post += w\nv_post += w", (None, None)),      # two accumulated variables
    ("I_post += w\nI_post += w", (None, None)),      # the same one twice
    ("I_post += w*I_post", (None, None)),            # reads what it adds to
    ("v_post += w\nw -= sub_post", (None, None)),    # reads it through a subexpression
    ("E_pre += w", (None, None)),                    # a presynaptic write
    ("w -= p_pre\nv_post = 1", (None, None)),
])
def test_schedule_is_given_only_where_it_is_safe(code, expected):
    syn = _synapses(code)     # the pathway holds its Synapses weakly
    assert pathway_schedule(syn.pre) == expected


def _simulator(tmp_path, name, threaded: bool, monkeypatch):
    monkeypatch.setattr(openmp, "MIN_PARALLEL_SYNAPSES", 0 if threaded else 10**12)
    cfg = small_config(network={"hidden": [40]}, data={"encoding": "frames", "steps_per_sample": T},
                       training={"replay_min_synapses": 1000},
                       device={"name": "cpp_standalone", "threads": 2},
                       optimizer={"learning_rate": 0.1, "schedule": "sample"})
    return make_simulator(cfg, N_IN, N_OUT, tmp_path / name), cfg


def test_threaded_pathways_learn_what_the_master_thread_learns(tmp_path, monkeypatch, rng):
    frames = (rng.random((12, T, N_IN)) < 0.15) * rng.integers(1, 3, (12, T, N_IN)).astype(float)
    y = rng.integers(0, N_OUT, 12)
    results = {}
    for threaded in (True, False):
        sim, cfg = _simulator(tmp_path, f"threaded_{threaded}", threaded, monkeypatch)
        data = make_epoch_data(frames, y, frames[:0], y[:0], 1)
        state = initial_state(cfg, N_IN, N_OUT, 1)
        with sim:
            first = sim.run_epoch(data, state, 5)
            again = sim.run_epoch(data, state, 5)
            schedules = dict(sim.network.threaded_pathways)
        results[threaded] = first
        for key in first.state:     # one binary, same seed: bit for bit
            np.testing.assert_array_equal(again.state[key], first.state[key], err_msg=key)
        if threaded:
            assert schedules["forward1_transmit"] == "accumulate"
            assert schedules["forward1_replay0"] == "synaptic"
            code = (tmp_path / "threaded_True" / "code_objects"
                    / "forward1_replay0_codeobject.cpp").read_text()
            assert "queue[omp_get_thread_num()]" in code
        else:
            assert schedules == {}
    threaded, master = results[True], results[False]
    assert master.spike_counts[0].sum() > 0, "the test network must spike"
    np.testing.assert_array_equal(threaded.spike_counts[0], master.spike_counts[0])
    assert not np.allclose(master.state["W1"], state["W1"]), "the hidden weights must learn"
    for key, value in master.state.items():
        scale = max(np.max(np.abs(value)), 1e-12)
        np.testing.assert_allclose(threaded.state[key], value, rtol=0, atol=1e-12 * scale,
                                   err_msg=key)


def test_runtime_and_one_thread_keep_brians_template():
    brian2.set_device("runtime")
    assert openmp.parallelize_pathways([_synapses("w -= p_pre*E_post")], min_synapses=0) == {}


def test_another_brian2_keeps_brians_template(monkeypatch):
    syn = _synapses("w -= p_pre*E_post")
    monkeypatch.setattr(openmp, "_threads", lambda: 2)
    assert openmp.brian2_is_compatible()    # this environment's Brian2 (2.9.0 or 2.10.1)
    assert openmp.parallelize_pathways([syn], min_synapses=0) == {syn.pre.name: "synaptic"}
    monkeypatch.setattr(openmp, "brian2_is_compatible", lambda: False)
    assert openmp.parallelize_pathways([_synapses("w -= p_pre*E_post")], min_synapses=0) == {}
