"""Devices: where the Brian2 model runs, one simulator class per device.

A simulator runs whole epochs: ``run_epoch(data, state, seed)`` streams the
epoch's samples through the model and returns the new learnable state and the
per-sample readouts. An epoch runs as consecutive simulation runs of a fixed
number of samples (``training.samples_per_run``, capped so that one run's
inputs stay under ``training.max_run_input_mb``; the last run is padded with
inert samples), so memory does not grow with the epoch. The registry
``SIMULATORS`` maps device names to classes.

- ``runtime``: Brian2's runtime device with the numpy code generation target;
  the network is rebuilt for every epoch (no compilation; for small models and
  tests).
- ``cpp_standalone``: C++ code generated and compiled once per network
  (``device.build(run=False)``); every epoch re-runs the same binary with the
  epoch's data, the previous epoch's state and a fresh seed passed as
  ``run_args`` (Brian2 >= 2.6). ``seed()`` is compiled into a binary, so the
  per-epoch seed is read from a variable set through ``run_args`` by code
  inserted into ``main``.
- ``genn``, ``cuda_standalone``: GPU lanes in their own environments (see
  DESIGN.md section 4, docs/lanes/); their simulators live in bioopzo/lanes/
  and are imported on use. Selecting them without the lane is an error that
  says how to get it.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bioopzo.config import ConfigError, ExperimentConfig
from bioopzo.network import BrianNetwork, EpochData

__all__ = ["EpochResult", "Simulator", "RuntimeSimulator", "StandaloneSimulator",
           "SIMULATORS", "make_simulator", "DeviceUnavailableError", "epoch_seed"]

log = logging.getLogger("bioopzo.devices")


class DeviceUnavailableError(ConfigError):
    """The requested device is not installed in this environment."""


@dataclass
class EpochResult:
    state: dict            # learnable state after the epoch
    o_sum: np.ndarray      # (N, m) readout summed over each sample
    loss: np.ndarray       # (N,) loss summed over each sample's steps
    spike_counts: list     # per hidden layer, spikes per neuron over the run(s)
    simulation_time: float # seconds inside the simulation (binary or run())
    overhead_time: float   # seconds outside it (building, reading results)
    compiled: bool         # this epoch compiled the model
    n_runs: int = 1        # simulation runs the epoch took
    network_time: float = float("nan")   # seconds of the network run itself (standalone:
                                         # the binary's own timing, without start-up and file I/O)

    @classmethod
    def combine(cls, parts: list["EpochResult"]) -> "EpochResult":
        """Consecutive runs of one epoch as one result (the last run's state)."""
        return cls(parts[-1].state,
                   np.concatenate([p.o_sum for p in parts]),
                   np.concatenate([p.loss for p in parts]),
                   [sum(p.spike_counts[l] for p in parts) for l in range(len(parts[0].spike_counts))],
                   sum(p.simulation_time for p in parts), sum(p.overhead_time for p in parts),
                   any(p.compiled for p in parts), sum(p.n_runs for p in parts),
                   sum(p.network_time for p in parts))


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch`` (1-based) of a run seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, epoch, 2029]).generate_state(1)[0] % (2**31 - 1))


def run_seed(seed: int, run: int) -> int:
    """The seed of the ``run``-th simulation run (0-based) of an epoch seeded with ``seed``."""
    if run == 0:
        return seed
    return int(np.random.SeedSequence([seed, run, 31]).generate_state(1)[0] % (2**31 - 1))


class Simulator:
    """Base class: build the model for a config and run epochs on one device."""

    name = ""

    def __init__(self, config: ExperimentConfig, n_inputs: int, n_classes: int,
                 build_dir: str | Path | None = None, *, record_spikes: bool = False,
                 record_states: tuple = ()):
        self.config = config
        self.n_inputs, self.n_classes = n_inputs, n_classes
        self.build_dir = Path(build_dir) if build_dir is not None else None
        self.record_spikes = record_spikes
        self.record_states = tuple(record_states)
        self.network: BrianNetwork | None = None
        self.n_builds = 0
        self.samples_per_run: int | None = None

    def run_epoch(self, data: EpochData, state: dict, seed: int) -> EpochResult:
        """Stream ``data`` through the model in runs of ``samples_per_run`` samples."""
        size = self._run_size(data)
        parts = []
        for run, chunk in enumerate(data.chunks(size)):
            res = self._run_samples(chunk, state, run_seed(seed, run))
            state = res.state
            if chunk.n_padding:
                keep = chunk.n_samples - chunk.n_padding
                res.o_sum, res.loss = res.o_sum[:keep], res.loss[:keep]
            parts.append(res)
        return EpochResult.combine(parts)

    def _run_size(self, data: EpochData) -> int:
        """Samples per simulation run, fixed at the first call (a compiled model
        streams a fixed number)."""
        if self.samples_per_run is None:
            cfg = self.config.training
            bytes_per_sample = 8 * int(np.prod(data.inputs.shape[1:]))
            cap = max(1, int(cfg.max_run_input_mb * 2**20) // max(bytes_per_sample, 1))
            self.samples_per_run = max(1, min(cfg.samples_per_run, cap, data.n_samples))
        return self.samples_per_run

    def _run_samples(self, data: EpochData, state: dict, seed: int) -> EpochResult:
        """One simulation run of exactly ``samples_per_run`` samples."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the device (back to Brian2's runtime device)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _collect(self, net: BrianNetwork, sim_time: float, t0: float, compiled: bool) -> EpochResult:
        state = net.get_state()
        o_sum, loss = net.sample_results()
        counts = net.spike_counts()
        overhead = time.perf_counter() - t0 - sim_time
        return EpochResult(state, o_sum, loss, counts, sim_time, overhead, compiled)


class RuntimeSimulator(Simulator):
    """Brian2 runtime device, numpy target; the network is rebuilt each epoch."""

    name = "runtime"

    def _run_samples(self, data, state, seed):
        import brian2

        t0 = time.perf_counter()
        brian2.set_device("runtime")
        brian2.prefs.codegen.target = "numpy"
        brian2.defaultclock.dt = self.config.neuron.dt
        net = BrianNetwork(self.config, self.n_inputs, self.n_classes, data, state,
                           record_spikes=self.record_spikes, record_states=self.record_states)
        self.network = net
        self.n_builds += 1
        brian2.seed(seed)
        t1 = time.perf_counter()
        net.network.run(net.duration, namespace={})
        sim_time = time.perf_counter() - t1
        result = self._collect(net, sim_time, t0, compiled=False)
        result.network_time = sim_time
        return result


class StandaloneSimulator(Simulator):
    """Brian2 cpp_standalone: compile once, re-run the binary with ``run_args``."""

    name = "cpp_standalone"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.build_dir is None:
            raise ValueError("cpp_standalone needs a build directory")
        self._seed_holder = None
        self._runs = 0

    def _build(self, data, state):
        import brian2
        from brian2 import NeuronGroup, device, prefs, set_device

        threads = self.config.device.threads
        set_device("cpp_standalone", directory=str(self.build_dir), build_on_run=False)
        device.reinit()
        device.activate(directory=str(self.build_dir), build_on_run=False)
        prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0
        configure_make()
        brian2.defaultclock.dt = self.config.neuron.dt
        net = BrianNetwork(self.config, self.n_inputs, self.n_classes, data, state,
                           record_spikes=self.record_spikes, record_states=self.record_states)
        holder = NeuronGroup(1, "rng_seed : 1", name="rng_seed_holder")
        net.network.add(holder)
        device.apply_run_args()
        array = device.get_array_name(holder.variables["rng_seed"])
        device.insert_code(
            "main",
            "for (int _i = 0; _i < (int)brian::_random_generators.size(); _i++)\n"
            f"    brian::_random_generators[_i].seed((unsigned long)brian::{array}[0] + _i);",
        )
        net.network.run(net.duration, namespace={})
        if self.build_dir.exists():
            if any(self.build_dir.iterdir()) and not (self.build_dir / "main.cpp").exists():
                raise ValueError(f"build directory {self.build_dir} is not empty and not a "
                                 "Brian2 project; choose an empty or new folder")
            shutil.rmtree(self.build_dir)   # a stale project of an earlier build
        t = time.perf_counter()
        device.build(directory=str(self.build_dir), compile=True, run=False)
        log.info("compiled the Brian2 C++ project in %s (%.1f s)", self.build_dir,
                 time.perf_counter() - t)
        self.network, self._seed_holder = net, holder
        self.n_builds += 1

    def _run_samples(self, data, state, seed):
        from brian2 import device

        t0 = time.perf_counter()
        compiled = self.network is None
        if compiled:
            self._build(data, state)
        else:
            log.info("re-running the compiled binary in %s (no recompilation)", self.build_dir)
        net = self.network
        args = net.run_args(state, data)
        args[self._seed_holder.rng_seed] = np.array([float(seed)])
        self._runs += 1
        t1 = time.perf_counter()
        files = []
        try:
            device.run(directory=str(self.build_dir), with_output=False,
                       run_args=self._run_arguments(args, files),
                       results_directory=f"results_{self._runs}")
        finally:
            for path in files:
                path.unlink(missing_ok=True)
        sim_time = time.perf_counter() - t1
        result = self._collect(net, sim_time, t0, compiled)
        result.network_time = float(getattr(device, "_last_run_time", float("nan")))
        previous = self.build_dir / f"results_{self._runs - 1}"
        if previous.exists():
            shutil.rmtree(previous, ignore_errors=True)
        return result

    def _run_arguments(self, args: dict, files: list) -> list[str]:
        """Brian2's ``run_args`` as command-line strings, arrays written to files
        of fixed names (appended to ``files``). Brian2's own conversion of a dict
        hashes every array (0.7 ms per N-MNIST sample) and keeps one file per
        distinct content, so an epoch of new data per run would fill the disk."""
        from brian2 import TimedArray
        from brian2.units.fundamentalunits import fail_for_dimension_mismatch

        out = []
        for key, value in args.items():
            if isinstance(key, TimedArray):
                name, dtype, shape = f"{key.name}.values", key.values.dtype, key.values.shape
            else:
                name, dtype = f"{key.group_name}.{key.name}", key.dtype
                shape = None if key.variable.dynamic else (key.shape[0],)
            fail_for_dimension_mismatch(key.dim, value)
            array = np.asarray(value, dtype=dtype)
            if array.size == 1:
                out.append(f"{name}={array.item()!r}")
                continue
            if shape is not None and array.shape != tuple(shape):
                raise ValueError(f"run argument {name}: shape {array.shape}, the compiled "
                                 f"model has {tuple(shape)}")
            path = self.build_dir / "static_arrays" / f"run_{name}.dat"
            files.append(path)
            array.ravel().tofile(path)
            out.append(f"{name}={path.relative_to(self.build_dir)}")
        return out

    def close(self):
        from brian2 import device, set_device

        if self.network is not None:
            device.reinit()
            set_device("runtime")
            self.network = None


def configure_make(jobs: int | None = None) -> None:
    """Limit ``make``'s parallel jobs to the CPU count (Brian2's default ``-j``
    starts one compiler per source file at once, which exhausts memory on
    large projects)."""
    import os

    from brian2 import prefs

    jobs = jobs or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                       else (os.cpu_count() or 1))
    prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{jobs}"]


def _lane_error(name: str) -> DeviceUnavailableError:
    lanes = {
        "genn": ("brian2genn",
                 "a separate Python 3.11 environment with brian2 2.5.4, brian2genn 1.7.0, "
                 "numpy<2 and cython<3.1, and GeNN 4.x built at $GENN_PATH"),
        "cuda_standalone": ("brian2cuda",
                            "a separate Python >= 3.12 environment with brian2 2.10.1 and "
                            "brian2cuda 1.0b1 on a machine with an NVIDIA GPU"),
    }
    module, needs = lanes[name]
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


SIMULATORS: dict[str, type[Simulator]] = {
    "runtime": RuntimeSimulator,
    "cpp_standalone": StandaloneSimulator,
}

#: GPU lanes: device name -> (device package, module:class of its simulator), imported on use
LANE_SIMULATORS = {
    "genn": ("brian2genn", "bioopzo.lanes.genn:GeNNSimulator"),
    "cuda_standalone": ("brian2cuda", "bioopzo.lanes.cuda:CUDASimulator"),
}


def _lane_simulator(name: str) -> type[Simulator]:
    """The lane's simulator class, or the error saying how to get the lane."""
    import importlib

    package, target = LANE_SIMULATORS[name]
    if importlib.util.find_spec(package) is None:
        raise _lane_error(name)
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def make_simulator(config: ExperimentConfig, n_inputs: int, n_classes: int,
                   build_dir: str | Path | None = None, **kwargs) -> Simulator:
    """The simulator for ``config.device.name``; a clear error for unknown or absent devices."""
    name = config.device.name
    if name in LANE_SIMULATORS:
        return _lane_simulator(name)(config, n_inputs, n_classes, build_dir, **kwargs)
    if name not in SIMULATORS:
        raise ConfigError(f"unknown device {name!r}; choose one of {', '.join(SIMULATORS)}")
    return SIMULATORS[name](config, n_inputs, n_classes, build_dir, **kwargs)
