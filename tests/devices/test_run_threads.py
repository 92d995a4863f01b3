"""A build for K OpenMP threads runs on K or, on a busy machine, fewer threads, with the same
results (devices/cpp_standalone/threads.py): random draws follow fixed parts of each loop, and
the pathways walk the K build threads' synapse lists whatever number of threads runs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_config

from bioopzo.data.epochs import make_epoch_data
from bioopzo.devices import make_simulator
from bioopzo.devices.cpp_standalone import pathways, threads
from bioopzo.devices.cpp_standalone.threads import (RUN_THREADS_VARIABLE, stream_code,
                                                    threads_for_run)
from bioopzo.errors import ConfigError
from bioopzo.state import initial_state

N_IN, N_OUT, T, N = 48, 4, 8, 12


def test_threads_follow_the_free_cpus(monkeypatch):
    monkeypatch.delenv(RUN_THREADS_VARIABLE, raising=False)
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    monkeypatch.setattr(threads, "busy_cpus", lambda interval=0.05: 0.1)
    assert threads_for_run(2) == 2
    monkeypatch.setattr(threads, "busy_cpus", lambda interval=0.05: 2.0)   # two busy processes
    assert threads_for_run(2) == 1
    monkeypatch.setattr(threads, "usable_cpus", lambda: 8)
    monkeypatch.setattr(threads, "busy_cpus", lambda interval=0.05: 5.0)
    assert threads_for_run(4) == 3
    assert threads_for_run(1) == 1


def test_the_load_is_measured_over_the_previous_run(monkeypatch):
    """Others' busy CPUs = the smaller of (all busy CPU time - this process's and its
    children's) / wall time since the previous look, and the tasks running now; the
    first look samples busy_cpus (50 ms) instead."""
    snapshots = iter([(0.0, 100.0, 10.0, 0), (0.05, 100.05, 10.0, 0),   # around the first sample
                      (1.05, 101.95, 10.0, 2), (2.05, 103.95, 11.9, 2), (3.05, 105.95, 11.9, 0),
                      (3.06, 105.97, 11.91, 2), (3.11, 106.0, 11.91, 2)])
    monkeypatch.setattr(threads, "_cpu_snapshot", lambda: next(snapshots))
    sampled = []
    monkeypatch.setattr(threads, "busy_cpus", lambda interval=0.05: sampled.append(1) or 0.5)
    meter = threads.LoadMeter()
    assert meter.busy() == 0.5 and sampled == [1]          # first look: a 50 ms sample
    assert meter.busy() == pytest.approx(1.9)               # one second, 1.9 CPUs others'
    assert meter.busy() == pytest.approx(0.1)               # ours used 1.9 of 2.0 CPU-seconds
    assert meter.busy() == 0.0                               # busy before, nothing running now
    assert meter.busy() == 0.5 and sampled == [1, 1]        # 10 ms later: sampled again
    real = threads.LoadMeter()
    monkeypatch.undo()
    assert 0.0 <= real.busy() <= (threads.os.cpu_count() or 1) + 0.5
    assert 0.0 <= real.busy() <= (threads.os.cpu_count() or 1) + 0.5


def test_the_environment_fixes_the_threads(monkeypatch):
    monkeypatch.setattr(threads, "busy_cpus", lambda interval=0.05: 2.0)
    monkeypatch.setenv(RUN_THREADS_VARIABLE, "2")
    assert threads_for_run(2) == 2
    for bad in ("3", "0", "two"):
        monkeypatch.setenv(RUN_THREADS_VARIABLE, bad)
        with pytest.raises(ConfigError, match=RUN_THREADS_VARIABLE):
            threads_for_run(2)


@pytest.mark.parametrize("size,k", [(10, 2), (11, 2), (800, 3), (5, 8), (257, 4)])
def test_parts_are_openmps_static_blocks(size, k):
    # the C++ part of element i, evaluated in Python, against the blocks OpenMP's static
    # schedule hands out: ceil-sized blocks for the first size mod k threads
    code = stream_code("part", size, k)
    head, rest = code.split("const int _part = ")[1].split(";")[0].split(" ? ")
    bound = int(head.split("<")[1])
    first, second = rest.split(" : ")
    evaluate = lambda i: eval((first if i < bound else second).replace("_i", str(i))  # noqa: E731
                              .replace("/", "//"))
    blocks, start = [], 0
    for t in range(k):
        length = size // k + (1 if t < size % k else 0)
        blocks += [t] * length
        start += length
    assert [evaluate(i) for i in range(size)] == blocks
    assert stream_code("part", size, 1).count("return 0") == 1


def _config():
    return small_config(network={"hidden": [40]}, data={"encoding": "rate", "steps_per_sample": T},
                        training={"replay_min_synapses": 1000},
                        noise={"scale": 0.3, "site": "output"},
                        device={"name": "cpp_standalone", "threads": 2},
                        optimizer={"learning_rate": 0.1, "schedule": "sample"})


def _run(tmp_path, name, monkeypatch, data, state, run_threads: list[int]):
    config = _config()
    monkeypatch.setattr(pathways, "MIN_PARALLEL_SYNAPSES", 0)
    out = []
    with make_simulator(config, N_IN, N_OUT, tmp_path / name) as sim:
        for n in run_threads:
            monkeypatch.setenv(RUN_THREADS_VARIABLE, str(n))
            out.append(sim.run_epoch(data, state, 7))
            assert sim.run_threads == n and sim.adapts_threads
        schedules = dict(sim.network.pathway_schedules)
    return out, schedules


@pytest.fixture
def rate_data(rng):
    x = rng.random((N, N_IN))
    y = rng.integers(0, N_OUT, N)
    return make_epoch_data(x, y, x[:0], y[:0], 1), initial_state(_config(), N_IN, N_OUT, 1)


@pytest.mark.standalone
@pytest.mark.parametrize("layout", ["dense", "lists"])
def test_one_running_thread_learns_what_two_learn(tmp_path, monkeypatch, rate_data, layout):
    """OPZO with output noise (gaussian()) and rate-coded inputs (uniform()): the 2-thread
    build on 1 running thread ends bit for bit where it ends on 2."""
    data, state = rate_data
    if layout == "lists":
        monkeypatch.setattr(pathways, "_dense_layout_possible", lambda pathway: False)
    (two, one, two_again), schedules = _run(tmp_path, layout, monkeypatch, data, state, [2, 1, 2])
    if layout == "lists":
        assert schedules["forward1_transmit"] == "accumulate"
        assert schedules["forward1_replay0"] == "synaptic"
    assert not np.allclose(two.state["W1"], state["W1"]), "the hidden weights must learn"
    assert two.spike_counts[0].sum() > 0, "the test network must spike"
    for key, value in two.state.items():
        np.testing.assert_array_equal(one.state[key], value, err_msg=key)
        np.testing.assert_array_equal(two_again.state[key], value, err_msg=key)
    np.testing.assert_array_equal(one.spike_counts[0], two.spike_counts[0])
    np.testing.assert_array_equal(one.o_sum, two.o_sum)
