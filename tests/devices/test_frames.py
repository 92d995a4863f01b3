"""The inputs' frames on cpp_standalone as their non-zero values (devices/cpp_standalone/frames.py):
the same values as Brian2's TimedArray, bit for bit, and a clear stop on a missing file."""

from __future__ import annotations

import subprocess

import brian2
import numpy as np
import pytest
from brian2 import NeuronGroup, StateMonitor, TimedArray, device, set_device

from bioopzo.data.epochs import SparseValues
from bioopzo.devices.cpp_standalone.frames import FrameInput
from bioopzo.devices.cpp_standalone.run_files import write_sparse_file

STEPS, N_INPUTS = 9, 70          # two bitmap words per step, the second one partial


def _frames(rng) -> np.ndarray:
    values = np.where(rng.random((STEPS, N_INPUTS)) < 0.2, rng.integers(1, 4, (STEPS, N_INPUTS)),
                      0).astype(float)
    values[0, 0], values[0, 63], values[0, 64], values[-1, -1] = 1.5, 2.0, -0.0, 7.25
    values[4] = 0                                           # a step without events
    return values


@pytest.mark.standalone
def test_frames_read_what_a_timed_array_holds(tmp_path):
    values = _frames(np.random.default_rng(4))
    frames = FrameInput("frames_under_test", N_INPUTS, STEPS, float(brian2.defaultclock.dt))
    timed = TimedArray(values, dt=brian2.defaultclock.dt)
    device.reinit()
    set_device("cpp_standalone", directory=str(tmp_path), build_on_run=False)
    group = NeuronGroup(N_INPUTS, "x = frames(t, i) : 1\ny = timed(t, i) : 1")
    monitor = StateMonitor(group, ["x", "y"], record=True)
    # two steps past the frames: the last one holds, as a TimedArray's does
    net = brian2.Network(group, monitor)
    net.run((STEPS + 2) * brian2.defaultclock.dt,
            namespace={"frames": frames.function, "timed": timed})
    device.build(directory=str(tmp_path), compile=True, run=False)
    write_sparse_file(tmp_path / "static_arrays" / frames.file_name, SparseValues.of(values),
                  frames.size, np.float64, always=True)
    device.run(directory=str(tmp_path), with_output=False)
    x, y = np.asarray(monitor.x), np.asarray(monitor.y)
    assert np.abs(y).max() == 7.25 and (y == 0).any()
    np.testing.assert_array_equal(x.view(np.uint64), y.view(np.uint64))   # -0.0 included
    # a missing file stops the binary with one line that names it
    (tmp_path / "static_arrays" / frames.file_name).unlink()
    done = subprocess.run(["./main"], cwd=tmp_path, capture_output=True, text=True)
    device.reinit()
    assert done.returncode == 1
    assert "bioopzo: the run's input frames" in done.stderr and "is missing" in done.stderr
