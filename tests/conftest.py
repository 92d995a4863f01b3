"""Shared fixtures: Brian2 device hygiene and small configs."""

from __future__ import annotations

import logging

import numpy as np
import pytest

logging.getLogger("brian2").setLevel(logging.ERROR)


@pytest.fixture(autouse=True)
def brian_runtime_device():
    """Every test starts and ends on Brian2's runtime device (numpy target)."""
    import brian2

    yield
    device = brian2.get_device()
    if type(device).__name__ != "RuntimeDevice":
        device.reinit()
    brian2.set_device("runtime")
    brian2.prefs.codegen.target = "numpy"
    brian2.prefs.devices.cpp_standalone.openmp_threads = 0


@pytest.fixture(autouse=True)
def private_build_cache(tmp_path_factory, monkeypatch):
    """Every test compiles into a build cache of its own, never the user's."""
    monkeypatch.setenv("BIOOPZO_CACHE_DIR", str(tmp_path_factory.mktemp("build_cache")))


def small_config(**sections):
    """A 2-hidden-layer config small enough for the numpy target."""
    from bioopzo.config import ExperimentConfig, deep_merge

    base = {
        "name": "small",
        "network": {"hidden": [30, 20], "weight_init_gain": 3.0},
        "rule": {"name": "opzo", "feedback_init": "random"},
        "noise": {"scale": 0.3},
        "data": {"steps_per_sample": 10},
        "optimizer": {"learning_rate": 0.05},
        "device": {"name": "runtime"},
    }
    return ExperimentConfig.from_dict(deep_merge(base, sections))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_addoption(parser):
    parser.addoption(
        "--full-standalone-oracle", action="store_true",
        help="compare cpp_standalone with the reference for every variant of the runtime "
             "oracle test (35 networks in one project, ~20 min) instead of the covering set",
    )
