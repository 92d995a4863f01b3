"""Devices: where the Brian2 model runs, one simulator per device, each in its own module.

- ``runtime`` (devices/runtime.py): Brian2's runtime device with the numpy code
  generation target; the network is rebuilt for every run (no compilation; for
  small models and tests).
- ``cpp_standalone`` (devices/cpp_standalone/): C++ code generated and compiled
  once per network; every run re-runs the same binary with new data, state and
  seed as ``run_args`` (Brian2 >= 2.6). Its pathways walk their events without
  spike queues (pathways.py, templates/), and ``gaussian()`` is a ziggurat in C++.
- ``genn`` (devices/genn.py), ``cuda_standalone`` (devices/cuda.py): GPU lanes in
  their own environments (DESIGN.md section 4, docs/lanes/). Selecting one
  without its device package is an error that says how to get the lane.

devices/base.py holds what they share (Simulator, EpochResult, the seeds,
DeviceCapabilities); devices/brian2_compat.py every use of a Brian2 internal.
The registry :data:`SIMULATORS` names each device's simulator as
``"module:Class"``; :func:`make_simulator` imports a device's module when that
device is chosen, so importing this package loads no device.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from bioopzo.devices.base import (DeviceCapabilities, DeviceUnavailableError, EpochResult,
                                  Simulator, epoch_seed, run_seed)
from bioopzo.errors import ConfigError

if TYPE_CHECKING:
    from bioopzo.config import ExperimentConfig

__all__ = ["SIMULATORS", "LANE_PACKAGES", "make_simulator", "simulator_class",
           "lane_error", "DeviceUnavailableError", "DeviceCapabilities", "EpochResult",
           "Simulator", "epoch_seed", "run_seed"]

#: device name -> "module:Class" of its simulator, imported when the device is chosen
SIMULATORS = {
    "runtime": "bioopzo.devices.runtime:RuntimeSimulator",
    "cpp_standalone": "bioopzo.devices.cpp_standalone.simulator:StandaloneSimulator",
    "genn": "bioopzo.devices.genn:GeNNSimulator",
    "cuda_standalone": "bioopzo.devices.cuda:CUDASimulator",
}

#: GPU lanes: device name -> (the device package it needs, what its environment holds)
LANE_PACKAGES = {
    "genn": ("brian2genn",
             "a separate Python 3.11 environment with brian2 2.5.4, brian2genn 1.7.0, "
             "numpy<2 and cython<3.1, and GeNN 4.x built at $GENN_PATH"),
    "cuda_standalone": ("brian2cuda",
                        "a separate Python >= 3.12 environment with brian2 2.10.1 and "
                        "brian2cuda 1.0b1 on a machine with an NVIDIA GPU"),
}

def lane_error(name: str) -> DeviceUnavailableError:
    """The error for the GPU lane ``name`` where it is not available, saying how to get it."""
    module, needs = LANE_PACKAGES[name]
    if importlib.util.find_spec(module) is None:
        return DeviceUnavailableError(
            f"device {name!r} needs the '{module}' package, which is not installed here; "
            f"it runs in its own lane: {needs} (see docs/lanes/{name.split('_')[0]}.md). "
            "Use --device cpp_standalone or --device runtime in this environment."
        )
    return DeviceUnavailableError(
        f"device {name!r}: '{module}' is installed, but bioopzo's {name} lane is not "
        "implemented yet; use --device cpp_standalone or --device runtime."
    )


def simulator_class(name: str) -> type[Simulator]:
    """The simulator class of device ``name``; a clear error for unknown or absent devices."""
    if name not in SIMULATORS:
        raise ConfigError(f"unknown device {name!r}; choose one of {', '.join(SIMULATORS)}")
    if name in LANE_PACKAGES and importlib.util.find_spec(LANE_PACKAGES[name][0]) is None:
        raise lane_error(name)
    module, cls = SIMULATORS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_simulator(config: ExperimentConfig, n_inputs: int, n_classes: int,
                   build_dir: str | Path | None = None, **kwargs) -> Simulator:
    """The simulator for ``config.device.name``."""
    return simulator_class(config.device.name)(config, n_inputs, n_classes, build_dir, **kwargs)
