"""What every device shares: the simulator interface, an epoch's result, the
seeds of epochs and runs, and what a device supports of the model.

A simulator runs whole epochs: ``run_epoch(data, state, seed)`` streams the
epoch's samples through the model and returns the new learnable state and the
per-sample readouts. An epoch runs as consecutive simulation runs of a fixed
number of samples (``training.samples_per_run``, capped so that one run's
inputs stay under ``training.max_run_input_mb``; the last run is padded with
inert samples), so memory does not grow with the epoch.

Seeds: epoch e (1-based) of a run seeded s has seed
``SeedSequence([s, e, 2029])``; run k > 0 of an epoch seeded s has
``SeedSequence([s, k, 31])`` (run 0 keeps s), each reduced modulo 2^31 - 1.

A device describes what it supports of the model in a
:class:`DeviceCapabilities`, which :class:`bioopzo.network.BrianNetwork` reads
(it never asks which device is active).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bioopzo.data.epochs import EpochData
from bioopzo.errors import ConfigError

if TYPE_CHECKING:
    from bioopzo.config import ExperimentConfig

__all__ = ["DeviceCapabilities", "EpochResult", "Simulator", "DeviceUnavailableError",
           "epoch_seed", "run_seed"]


class DeviceUnavailableError(ConfigError):
    """The requested device is not installed in this environment."""


@dataclass(frozen=True)
class DeviceCapabilities:
    """What a device supports of the model; the defaults are Brian2's own facilities.

    custom_events : bool
        NeuronGroup custom events and pathways fired by them: forward input as
        ``transmit`` events of the active presynaptic neurons. False: dense summed
        variables instead (brian2genn).
    sample_clock_pathways : bool
        Pathways moved onto the sample clock (period T dt): the accumulated
        schedules' once-per-sample updates from the presynaptic activity
        (updates.py); False: the T-term dense form over every synapse (brian2cuda).
    slot_histories : callable or None
        The accumulated schedules' sample histories are written in place, one
        custom event per step of the sample (neurons.py), instead of shifted
        every step: for devices whose code objects cost little to call (compiled
        code: T scalar tests per group and step instead of T moves per neuron).
        ``f(group.resetter[event])`` prepares each such event's code
        (cpp_standalone: one thread, no OpenMP region); None: shift registers.
    summed_lag : int
        Steps by which each summed hop lags (0: the schedule is honoured; 1 on
        brian2genn, docs/lanes/genn.md).
    gaussian : Brian2 Function or None
        The fast ``gaussian()`` draw the device implements (devices/gaussian.py);
        None: Brian2's ``randn()``.
    uniform : Brian2 Function or None
        The device's ``uniform()`` draw on [0, 1) whose draws do not depend on
        the number of threads that run the code (cpp_standalone); None: Brian2's
        ``rand()``.
    pathway_templates : callable or None
        Gives the model's Synapses custom pathway code (cpp_standalone: no spike
        queue, OpenMP schedules): ``f(list of Synapses) -> {pathway: schedule}``.
    serial_code : callable or None
        Runs the code of small groups on one thread (cpp_standalone: without
        OpenMP regions, which cost more than their loops): ``f(objects) ->
        [group names]``.
    event_tests : callable or None
        Gives the NeuronGroups' event tests the device's own code
        (cpp_standalone: two passes, the first vectorised; events.py):
        ``f(objects) -> [thresholder names]``.
    frame_input : callable or None
        The inputs' frames as the device's own function instead of a TimedArray:
        ``f(name, dense values (steps, inputs), dt) -> object`` with ``.function``
        (the Brian2 function ``name(t, i)``), passed its values per run in
        ``run_args`` (cpp_standalone: only the non-zero values, frames.py); None:
        a TimedArray.
    openmp_threads : int
        OpenMP threads of the compiled code (0: none).
    run_args : bool
        A compiled binary re-runs with new state and data as ``run_args``.
    """

    custom_events: bool = True
    sample_clock_pathways: bool = True
    slot_histories: Callable | None = None
    summed_lag: int = 0
    gaussian: object = None
    uniform: object = None
    pathway_templates: Callable | None = None
    serial_code: Callable | None = None
    event_tests: Callable | None = None
    frame_input: Callable | None = None
    openmp_threads: int = 0
    run_args: bool = False


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
    """Base class: build the model for a config and run epochs on one device.

    ``capabilities`` (a class attribute or property of each device) is what the
    device supports of the model; its simulator builds the network with it."""

    name = ""
    capabilities = DeviceCapabilities()
    #: a run's inputs may reach ``_run_samples`` unread (a lazy ``SampleInputs``:
    #: the device reads them, e.g. as their non-zero entries from the sources)
    lazy_inputs = False

    def __init__(self, config: ExperimentConfig, n_inputs: int, n_classes: int,
                 build_dir: str | Path | None = None, *, record_spikes: bool = False,
                 record_states: tuple = ()):
        self.config = config
        self.n_inputs, self.n_classes = n_inputs, n_classes
        self.build_dir = Path(build_dir) if build_dir is not None else None
        self.record_spikes = record_spikes
        self.record_states = tuple(record_states)
        self.network = None    # the BrianNetwork of the last build
        self.n_builds = 0      # compilations this simulator actually ran (not cached builds)
        self.progress: Callable[[str], None] | None = None   # told what the device is doing
        self.samples_per_run: int | None = None

    def run_epoch(self, data: EpochData, state: dict, seed: int) -> EpochResult:
        """Stream ``data`` through the model in runs of ``samples_per_run`` samples."""
        size = self._run_size(data)
        parts = []
        for run, chunk in enumerate(data.chunks(size, lazy=self.lazy_inputs)):
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

    def _collect(self, net, sim_time: float, t0: float, compiled: bool) -> EpochResult:
        state = net.get_state()
        o_sum, loss = net.sample_results()
        counts = net.spike_counts()
        overhead = time.perf_counter() - t0 - sim_time
        return EpochResult(state, o_sum, loss, counts, sim_time, overhead, compiled)
