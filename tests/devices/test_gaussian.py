"""gaussian(): the ziggurat's tables, the C++ draws (cpp_standalone) and the NumPy draws
(runtime) are standard normal."""

from __future__ import annotations

import math

import brian2
import numpy as np
import pytest

from bioopzo.devices.gaussian import GAUSSIAN, LAYERS, R, V, ziggurat_tables


def test_layers_have_equal_area():
    x, fx = ziggurat_tables()
    areas = x[1:LAYERS] * (fx[2:LAYERS + 1] - fx[1:LAYERS])
    areas[-1] = x[LAYERS - 1] * (1.0 - fx[LAYERS - 1])
    np.testing.assert_allclose(areas, V, rtol=1e-8)
    tail = math.sqrt(math.pi / 2) * math.erfc(R / math.sqrt(2))
    np.testing.assert_allclose(R * math.exp(-R * R / 2) + tail, V, rtol=1e-9)
    np.testing.assert_allclose(x[0] * fx[1], V, rtol=1e-12)
    assert np.all(np.diff(x[1:]) < 0) and x[LAYERS] == 0


def _normal_cdf(z):
    return 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2)))


def _check_standard_normal(z):
    n = z.size
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs(np.mean(z**4) - 3) < 5 * math.sqrt(96 / n)
    for cut in (1.0, 2.0, R, 4.0):   # R: the base layer's tail
        p = 2 * (1 - _normal_cdf(np.array(cut)))
        count = np.count_nonzero(np.abs(z) > cut)
        assert abs(count - n * p) < 5 * math.sqrt(n * p) + 2, (cut, count, n * p)
    sample = np.sort(z[:200_000])
    ks = np.max(np.abs(_normal_cdf(sample) - np.arange(1, sample.size + 1) / sample.size))
    assert ks < 1.95 / math.sqrt(sample.size), ks     # Kolmogorov-Smirnov, 0.1 %
    assert np.count_nonzero(z > 0) == pytest.approx(n / 2, abs=5 * math.sqrt(n / 4))


@pytest.mark.standalone
def test_cpp_standalone_draws_are_standard_normal_and_seeded(tmp_path):
    from brian2 import NeuronGroup, StateMonitor, device, ms, set_device

    from bioopzo.devices.cpp_standalone.gaussian import CPP_GAUSSIAN

    set_device("cpp_standalone", directory=str(tmp_path), build_on_run=False)
    try:
        device.reinit()
        device.activate(directory=str(tmp_path), build_on_run=False)
        brian2.defaultclock.dt = 1 * ms
        group = NeuronGroup(1000, "z : 1", namespace={"gaussian": CPP_GAUSSIAN})
        group.run_regularly("z = gaussian()", when="start")
        monitor = StateMonitor(group, "z", record=True)
        brian2.seed(5)
        brian2.run(400 * ms)
        device.build(directory=str(tmp_path), compile=True, run=True)
        z = np.asarray(monitor.z[:])
        device.run(directory=str(tmp_path), results_directory="again")
        again = np.asarray(monitor.z[:])
    finally:
        device.reinit()
        set_device("runtime")
    assert z.shape == (1000, 400)
    np.testing.assert_array_equal(again, z)             # the seed fixes the draws
    assert not np.array_equal(z[:, 0], z[:, 1])
    _check_standard_normal(z.ravel())
    # independent across neurons and steps: lag-1 correlations vanish
    assert abs(np.corrcoef(z[:, :-1].ravel(), z[:, 1:].ravel())[0, 1]) < 0.01
    assert abs(np.corrcoef(z[:-1].ravel(), z[1:].ravel())[0, 1]) < 0.01


def test_runtime_draws_are_standard_normal():
    from brian2 import NeuronGroup, StateMonitor, ms

    brian2.prefs.codegen.target = "numpy"
    brian2.defaultclock.dt = 1 * ms
    group = NeuronGroup(1000, "z : 1", namespace={"gaussian": GAUSSIAN})
    group.run_regularly("z = gaussian()", when="start")
    monitor = StateMonitor(group, "z", record=True)
    net = brian2.Network(group, monitor)
    brian2.seed(5)
    net.run(300 * ms)
    _check_standard_normal(np.asarray(monitor.z[:]).ravel())
