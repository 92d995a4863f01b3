"""Two-pass event tests of NeuronGroups on cpp_standalone (events.py).

Conditions on the neurons' own variables get the two-pass template; conditions
on time alone, or that draw, keep the single loop. A compiled network whose
events use it (a spike with refractoriness and a custom event, over a group
whose size is not a multiple of 8) fires exactly the spikes and events of
Brian2's runtime device.
"""

from __future__ import annotations

import brian2
import numpy as np
import pytest
from brian2 import EventMonitor, NeuronGroup, SpikeMonitor, device, ms, prefs, set_device

from bioopzo.devices.cpp_standalone import events, pathways
from bioopzo.devices.cpp_standalone.process import compile_project

N = 53      # not a multiple of the 8 tests read at once
STEPS = 200


def _group(name, draws: bool = True):
    conditions = {"high": "v > 0.6 and i % 3 != 0", "late": "t > 2*ms", "shared": "c > 0"}
    if draws:
        conditions["drawn"] = "rand() < 0.5"
    group = NeuronGroup(N, "dv/dt = (I - v)/(4*ms) : 1 (unless refractory)\nI : 1\nc : 1 (shared)",
                        threshold="v > 1", reset="v = 0", refractory=1.5 * ms, method="euler",
                        events=conditions, name=name)
    group.I = "1.1 + 3.0*(i % 7)/7.0"
    return group


def test_only_tests_of_the_neurons_variables_take_two_passes(monkeypatch):
    group = _group("events_kinds*")
    assert events.tests_own_variables(group, "spike")
    assert events.tests_own_variables(group, "high")
    assert not events.tests_own_variables(group, "late")     # time alone: all or none
    assert not events.tests_own_variables(group, "drawn")    # draws in neuron order
    assert not events.tests_own_variables(group, "shared")   # one value for all
    monkeypatch.setattr(pathways, "_threads", lambda: 0)
    names = events.two_pass_event_tests([group])
    assert sorted(names) == sorted([group.thresholder["spike"].name, group.thresholder["high"].name])
    assert group.thresholder["spike"].template_kwds["two_pass_events"] is True
    assert group.thresholder["spike"].template_kwds["_uses_refractory"] is True
    assert "two_pass_events" not in group.thresholder["late"].template_kwds
    monkeypatch.setattr(pathways, "_threads", lambda: None)    # runtime, genn, cuda
    assert events.two_pass_event_tests([_group("events_none*")]) == []


def _run(directory=None):
    """Spike and 'high' event trains of the test group, on runtime or compiled."""
    brian2.seed(3)
    group = _group("events_run", draws=False)     # rand(): another stream per device
    spikes, high = SpikeMonitor(group), EventMonitor(group, "high")
    if directory is not None:
        assert len(events.two_pass_event_tests([group])) == 2
    net = brian2.Network(group, spikes, high)
    net.run(STEPS * brian2.defaultclock.dt)
    if directory is not None:
        device.build(directory=str(directory), compile=False, run=False)
        compile_project(directory)
        device.run(directory=str(directory), with_output=False)
    return ([np.asarray(m.i).copy() for m in (spikes, high)],
            [np.asarray(m.t / ms).copy() for m in (spikes, high)])


@pytest.mark.standalone
def test_compiled_events_are_brians(tmp_path):
    brian2.set_device("runtime")
    (i_ref, t_ref) = _run()
    assert len(i_ref[0]) > N and len(i_ref[1]) > N, "the test group must spike and have events"
    device.reinit()
    set_device("cpp_standalone", directory=str(tmp_path), build_on_run=False)
    prefs.devices.cpp_standalone.openmp_threads = 0
    try:
        i, t = _run(tmp_path)
        code = "".join(p.read_text() for p in (tmp_path / "code_objects").glob("*thresholder*.cpp"))
        assert code.count("two passes (bioopzo.devices.cpp_standalone.events)") == 2
    finally:
        device.reinit()
        set_device("runtime")
    for got, want in zip(i + t, i_ref + t_ref):
        np.testing.assert_array_equal(got, want)
