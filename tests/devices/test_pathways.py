"""Pathways without spike queues, on one or every OpenMP thread (pathways.py).

``pathway_schedule`` must allow threads only for code it is safe for: synaptic
writes (``"synaptic"``), or one postsynaptic variable that is only added to
(``"accumulate"``). Compiled networks must learn what Brian2's own spike queues
learn: bit for bit on one thread (``"serial"``), spike for spike and to rounding
with two threads (the input currents add in another order), and two runs of one
binary must agree bit for bit.
"""

from __future__ import annotations

import brian2
import numpy as np
import pytest
from brian2 import NeuronGroup, Synapses
from conftest import small_config

from bioopzo.devices.cpp_standalone import pathways
from bioopzo.devices.cpp_standalone.process import compile_project
from bioopzo.devices import make_simulator
from bioopzo.data.epochs import make_epoch_data
from bioopzo.state import initial_state
from bioopzo.devices.cpp_standalone.pathways import pathway_schedule

N_IN, N_OUT, T, N = 48, 4, 8, 12


def _synapses(on_pre: str):
    source = NeuronGroup(3, "p : 1\nE : 1", threshold="p > 0", name="schedule_source*")
    target = NeuronGroup(2, "I : 1\nv : 1\nE : 1\nsub = 2*v : 1", name="schedule_target*")
    return Synapses(source, target, "w : 1\nw_acc : 1", on_pre=on_pre, delay=0 * brian2.ms,
                    name="schedule_syn*")


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
    ("w -= clip(p_pre, 0, 1)*exp(E_post)", ("synaptic", None)),
    ("w -= p_pre*rand()", (None, None)),            # draws in thread order otherwise
    ("I_post += w*randn()", (None, None)),
])
def test_threads_are_allowed_only_where_it_is_safe(code, expected):
    syn = _synapses(code)     # the pathway holds its Synapses weakly
    assert pathway_schedule(syn.pre) == expected


def _config(threads: int):
    return small_config(network={"hidden": [40]}, data={"encoding": "frames", "steps_per_sample": T},
                        training={"replay_min_synapses": 1000},
                        device={"name": "cpp_standalone", "threads": threads},
                        optimizer={"learning_rate": 0.1, "schedule": "sample"})


def _epoch(tmp_path, name, threads: int, monkeypatch, ours: bool, data, state):
    monkeypatch.setattr(pathways, "MIN_PARALLEL_SYNAPSES", 0)
    monkeypatch.setattr(pathways, "brian2_is_compatible",
                        (lambda: True) if ours else (lambda: False))   # False: Brian2's queues
    with make_simulator(_config(threads), N_IN, N_OUT, tmp_path / name) as sim:
        first = sim.run_epoch(data, state, 5)
        again = sim.run_epoch(data, state, 5)
        schedules = dict(sim.network.pathway_schedules)
    for key in first.state:     # one binary, same seed: bit for bit
        np.testing.assert_array_equal(again.state[key], first.state[key], err_msg=key)
    return first, schedules


@pytest.fixture
def epoch_data(rng):
    frames = (rng.random((N, T, N_IN)) < 0.15) * rng.integers(1, 3, (N, T, N_IN)).astype(float)
    y = rng.integers(0, N_OUT, N)
    return make_epoch_data(frames, y, frames[:0], y[:0], 1), initial_state(_config(1), N_IN, N_OUT, 1)


@pytest.mark.standalone
def test_one_thread_without_queues_is_bitwise_brians(tmp_path, monkeypatch, epoch_data):
    data, state = epoch_data
    ours, schedules = _epoch(tmp_path, "ours", 1, monkeypatch, True, data, state)
    brians, none = _epoch(tmp_path, "brians", 1, monkeypatch, False, data, state)
    assert none == {} and set(schedules.values()) == {"serial"}
    assert {"forward1_transmit", "forward1_replay0", "forward_out_transmit"} <= set(schedules)
    summed = list((tmp_path / "ours" / "code_objects").glob("*_summed_variable_*codeobject*.cpp"))
    assert summed and all("dense layout, every target j" in f.read_text() for f in summed)
    assert not np.allclose(brians.state["W1"], state["W1"]), "the hidden weights must learn"
    assert brians.spike_counts[0].sum() > 0, "the test network must spike"
    for key, value in brians.state.items():
        np.testing.assert_array_equal(ours.state[key], value, err_msg=key)
    np.testing.assert_array_equal(ours.o_sum, brians.o_sum)


@pytest.mark.standalone
def test_two_threads_learn_what_brians_queues_learn(tmp_path, monkeypatch, epoch_data):
    data, state = epoch_data
    master, none = _epoch(tmp_path, "master", 2, monkeypatch, False, data, state)
    assert none == {}
    # connect()'s layout: the forward input adds two blocks of events (whole rows),
    # the replays split the events; the same up to the order of the input's sums
    dense, _ = _epoch(tmp_path, "dense", 2, monkeypatch, True, data, state)
    code = tmp_path / "dense" / "code_objects"
    (transmit,) = code.glob("forward1_transmit_codeobject*.cpp")
    assert "if (_bioopzo_dense_forward1_transmit)" in transmit.read_text()
    assert "blocks of the step's events" in transmit.read_text()
    (replay0,) = code.glob("forward1_replay0_codeobject*.cpp")
    assert "whole rows of a contiguous block of the step's events" in replay0.read_text()
    np.testing.assert_array_equal(dense.spike_counts[0], master.spike_counts[0])
    for key, value in master.state.items():
        scale = max(np.max(np.abs(value)), 1e-12)
        np.testing.assert_allclose(dense.state[key], value, rtol=0, atol=1e-12 * scale,
                                   err_msg=key)
    # the synapse lists, as for any other layout: threads split the synapses
    monkeypatch.setattr(pathways, "_dense_layout_possible", lambda pathway: False)
    threaded, schedules = _epoch(tmp_path, "threaded", 2, monkeypatch, True, data, state)
    assert schedules["forward1_transmit"] == "accumulate"
    assert schedules["forward1_replay0"] == "synaptic"
    code = tmp_path / "threaded" / "code_objects"
    (replay0,) = code.glob("forward1_replay0_codeobject*.cpp")
    assert ".queue[_build_thread]" in replay0.read_text()
    # the T replay pathways share the synapse lists of one pathway of forward1
    prepared = [f.name for f in code.glob("before_run_forward1_*push_spikes*.cpp")
                if "prepare(" in f.read_text()]
    assert len(prepared) == 1, prepared
    assert master.spike_counts[0].sum() > 0, "the test network must spike"
    np.testing.assert_array_equal(threaded.spike_counts[0], master.spike_counts[0])
    assert not np.allclose(master.state["W1"], state["W1"]), "the hidden weights must learn"
    for key, value in master.state.items():
        scale = max(np.max(np.abs(value)), 1e-12)
        np.testing.assert_allclose(threaded.state[key], value, rtol=0, atol=1e-12 * scale,
                                   err_msg=key)


def test_runtime_keeps_brians_templates():
    brian2.set_device("runtime")
    assert pathways.assign_schedules([_synapses("w -= p_pre*E_post")], min_synapses=0) == {}


def test_another_brian2_keeps_brians_templates(monkeypatch):
    syn = _synapses("w -= p_pre*E_post")
    monkeypatch.setattr(pathways, "_threads", lambda: 2)
    assert pathways.brian2_is_compatible()    # this environment's Brian2 (2.9.0 or 2.10.1)
    assert pathways.assign_schedules([syn], min_synapses=0) == {syn.pre.name: "synaptic"}
    assert pathways.assign_schedules([_synapses("v_post = w")], min_synapses=0) != {}
    monkeypatch.setattr(pathways, "brian2_is_compatible", lambda: False)
    assert pathways.assign_schedules([_synapses("w -= p_pre*E_post")], min_synapses=0) == {}


def test_small_deterministic_groups_run_on_one_thread(monkeypatch):
    """Groups under MIN_PARALLEL_NEURONS without random draws, and the summed
    variables onto them, get the code object rendered without OpenMP and with
    independent (vectorisable) neuron loops; a group that draws, a large group
    and any 1-thread build keep Brian2's."""
    monkeypatch.setattr(pathways, "_threads", lambda: 2)
    small = NeuronGroup(10, "v : 1\ng : 1", name="serial_small*")
    small.run_regularly("v = 0.5*v + g")
    drawing = NeuronGroup(10, "v : 1", name="serial_drawing*")
    drawing.run_regularly("v = randn()")
    large = NeuronGroup(pathways.MIN_PARALLEL_NEURONS, "x : 1", name="serial_large*")
    feedback = Synapses(large, small, "w : 1\ng_post = w*x_pre : 1 (summed)", name="serial_syn*")
    objects = [small, drawing, large, feedback]
    assert pathways.serial_small_groups(objects) == [small.name]
    serial = pathways._serial_code_object_class()
    assert all(obj.codeobj_class is serial for obj in small.contained_objects)
    assert feedback.summed_updaters["g_post"].codeobj_class is serial
    assert all(obj.codeobj_class is not serial for g in (drawing, large) for obj in g.contained_objects)
    # rendered as without OpenMP: no pragma, thread 0
    assert pathways._serial_pragma("parallel-static") == ""
    assert pathways._serial_pragma("with_openmp") is False
    monkeypatch.setattr(pathways, "_threads", lambda: 0)
    assert pathways.serial_small_groups(objects) == []
    monkeypatch.setattr(pathways, "_threads", lambda: None)     # runtime, genn, cuda
    assert pathways.serial_small_groups(objects) == []


def test_serial_neuron_loops_are_marked_independent(tmp_path):
    """The one-thread code objects' state updaters and run_regularly loops carry
    ``#pragma GCC ivdep`` and no OpenMP pragma; Brian2's (OpenMP) ones keep
    their ``omp parallel for``."""
    from brian2 import device, ms, prefs, run, set_device

    device.reinit()
    set_device("cpp_standalone", directory=str(tmp_path), build_on_run=False)
    prefs.devices.cpp_standalone.openmp_threads = 2
    try:
        small = NeuronGroup(10, "dv/dt = -v/(10*ms) : 1", name="ivdep_small")
        small.run_regularly("v = 0.5*v + 1")
        large = NeuronGroup(pathways.MIN_PARALLEL_NEURONS, "dv/dt = -v/(10*ms) : 1",
                            name="ivdep_large")
        assert pathways.serial_small_groups([small, large]) == ["ivdep_small"]
        run(1 * ms)
        device.build(directory=str(tmp_path), compile=False, run=False)
        code = {path.name: path.read_text() for path in (tmp_path / "code_objects").glob("*.cpp")}
    finally:
        device.reinit()
        set_device("runtime")
        prefs.devices.cpp_standalone.openmp_threads = 0
    for name in ("ivdep_small_stateupdater_codeobject.cpp",
                 "ivdep_small_run_regularly_codeobject.cpp"):
        assert "#pragma GCC ivdep" in code[name] and "#pragma omp" not in code[name], name
    large_code = code["ivdep_large_stateupdater_codeobject.cpp"]
    assert "#pragma omp parallel for" in large_code and "#pragma GCC ivdep" not in large_code


#: the three dense walks' pathways: an accumulated input with a synaptic update,
#: a synaptic update alone, and two postsynaptic writes (no accumulate schedule)
_LAYOUT_CODES = {"acc": "I_post += w*x_pre\nw -= x_pre*E_post",
                 "events": "w -= x_pre*E_post",
                 "targets": "J_post += w*x_pre\nK_post += w\nw -= x_pre*E_post"}


def _layout_run(directory, connect: str, ours: bool, monkeypatch):
    """A 2-thread standalone network of the pathways :data:`_LAYOUT_CODES` from
    30 Poisson-like sources to 40 targets, over 12 steps; returns (W per pathway
    as an (i, j) matrix, I, J and K per step, the binary's stdout, the
    schedules, the dense walk per pathway)."""
    from brian2 import ms, prefs, set_device, StateMonitor, TimedArray, device

    monkeypatch.setenv("BIOOPZO_PATHWAYS_VERBOSE", "1")
    monkeypatch.setattr(pathways, "brian2_is_compatible", lambda: ours)
    device.reinit()
    set_device("cpp_standalone", directory=str(directory), build_on_run=False)
    prefs.devices.cpp_standalone.openmp_threads = 2
    rng = np.random.default_rng(11)
    n_src, n_tgt, steps = 30, 40, 12
    stimulus = TimedArray(((rng.random((steps, n_src)) < 0.3)
                           * rng.integers(1, 3, (steps, n_src))).astype(float), dt=brian2.defaultclock.dt)
    source = NeuronGroup(n_src, "x = stimulus(t, i) : 1", threshold="x > 0", name="layout_source")
    target = NeuronGroup(n_tgt, "I : 1\nJ : 1\nK : 1\nE : 1", name="layout_target")
    target.E = rng.normal(0, 1, n_tgt)
    pairs = rng.permutation(n_src * n_tgt)
    syns = {}
    for name, code in _LAYOUT_CODES.items():
        syn = Synapses(source, target, "w : 1", on_pre=code, delay=0 * ms, name=f"layout_{name}")
        if connect == "connect()":
            syn.connect()
        else:     # every pair, in a shuffled order: not connect()'s layout
            syn.connect(i=pairs // n_tgt, j=pairs % n_tgt)
        syn.w = "0.1*(i + 1) - 0.05*j"
        syns[name] = syn
    monitor = StateMonitor(target, ["I", "J", "K"], record=True, when="end")
    schedules = pathways.assign_schedules(list(syns.values()), min_synapses=0)
    net = brian2.Network(source, target, *syns.values(), monitor)
    net.run(steps * brian2.defaultclock.dt, namespace={"stimulus": stimulus})
    device.build(directory=str(directory), compile=False, run=False)
    compile_project(directory)
    device.run(directory=str(directory), with_output=False)
    weights = {}
    for name, syn in syns.items():
        W = np.zeros((n_src, n_tgt))
        W[np.asarray(syn.i), np.asarray(syn.j)] = np.asarray(syn.w)
        weights[name] = W
    posts = {v: np.asarray(getattr(monitor, v)).copy() for v in "IJK"}
    stdout = (directory / "results" / "stdout.txt").read_text()
    walks = {name: syn.pre.template_kwds.get("dense_schedule") if syn.pre.template_kwds else None
             for name, syn in syns.items()}
    device.reinit()
    return weights, posts, stdout, schedules, walks


@pytest.mark.standalone
def test_dense_layout_walks_and_learns_what_brians_queues_learn(tmp_path, monkeypatch):
    W_ref, post_ref, out_ref, none, _ = _layout_run(tmp_path / "brian", "connect()", False,
                                                   monkeypatch)
    assert none == {} and "bioopzo" not in out_ref
    assert all(np.abs(post_ref[v]).max() > 0 for v in "IJK")
    assert all(np.abs(W - W[0, 0]).max() > 0 for W in W_ref.values())
    W, post, out, schedules, walks = _layout_run(tmp_path / "dense", "connect()", True,
                                                 monkeypatch)
    assert schedules == {"layout_acc_pre": "accumulate", "layout_events_pre": "synaptic",
                         "layout_targets_pre": "serial"}
    assert walks == {"acc": "accumulate", "events": "events", "targets": "targets"}
    assert out.count("dense layout, targets walked directly") == 3
    # synaptic writes see the same arithmetic on two threads, and the targets'
    # walk adds in the events' order: bit for bit
    for name in _LAYOUT_CODES:
        np.testing.assert_array_equal(W[name], W_ref[name])
    np.testing.assert_array_equal(post["J"], post_ref["J"])
    np.testing.assert_array_equal(post["K"], post_ref["K"])
    # the accumulated input sums two blocks of events: the last bits may differ
    np.testing.assert_allclose(post["I"], post_ref["I"], rtol=1e-13, atol=1e-13)
    W, post, out, _, _ = _layout_run(tmp_path / "shuffled", "shuffled", True, monkeypatch)
    assert out.count("synapse lists walked") == 3
    for name in _LAYOUT_CODES:
        np.testing.assert_allclose(W[name], W_ref[name], rtol=1e-13, atol=1e-13)
    for v in "IJK":
        np.testing.assert_allclose(post[v], post_ref[v], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("code,expected", [
    ("w -= p_pre*E_post", "events"),                       # synaptic writes only
    ("I_post += w*p_pre\nw -= E_post", "targets"),
    ("I_post = w*I_post\nv_post += sub_post", "targets"),   # any write at the target's index
    ("E_pre += w", "serial"),                               # a presynaptic write
    ("I_post += w*rand()", "serial"),                       # a random draw
])
def test_dense_targets_only_where_it_is_safe(code, expected):
    syn = _synapses(code)
    assert pathways.dense_schedule(syn.pre) == expected


def test_dense_targets_not_for_a_recurrent_read_of_a_written_variable():
    group = NeuronGroup(3, "v : 1", threshold="v > 1", name="recurrent*")
    syn = Synapses(group, group, "w : 1", on_pre="v_post += w*v_pre", delay=0 * brian2.ms,
                   name="recurrent_syn*")
    assert pathways.dense_schedule(syn.pre) == "serial"
    syn_ok = Synapses(group, group, "w : 1", on_pre="v_post += w", delay=0 * brian2.ms,
                      name="recurrent_syn*")
    assert pathways.dense_schedule(syn_ok.pre) == "targets"
