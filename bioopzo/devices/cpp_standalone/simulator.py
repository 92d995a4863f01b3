"""The ``cpp_standalone`` simulator: compile once, re-run the binary with ``run_args``.

C++ code is generated once per network (``device.build(compile=False)``) and
compiled unless the build cache (devices/build_cache.py) already holds the
binary of the same generated code, compiler and flags; every simulation run
re-runs the same binary
with the run's data, the previous run's state and a fresh seed passed as
``run_args`` (Brian2 >= 2.6). ``seed()`` is compiled into a binary, so the
per-run seed is read from a variable set through ``run_args`` by code inserted
into ``main`` (every thread's generator k is seeded with seed + k).

What this device supports of the model: custom events and pathways on the
sample clock, ``gaussian()`` as a C++ ziggurat and ``uniform()`` (gaussian.py),
pathways without spike queues on one or every OpenMP thread (pathways.py,
templates/), and ``run_args``. A binary compiled for K threads runs each
simulation run on K or, when other processes keep the CPUs busy, fewer threads,
with the same results (threads.py). ``make`` and the binary run as child
processes that die with this process (process.py).

Per run, outside the network's own run: the binary starts, creates the
Synapses, reads its ``run_args`` and writes back what Python reads. What no run
needs is left out of the project after the build: the build-time copies of the
inputs and of the learnable state are emptied (every run passes its own as
``run_args``, so each is read once), and the write-back at the end of the run
skips the Synapses' arrays that Python never reads (synapse indices, connect()'s
arrays, synaptic variables outside the state). The inputs travel as their
non-zero entries where that is smaller (run_files.py; frames always, and the
binary keeps only those, frames.py), and a run's files go through a folder in
memory where there is room (exchange.py).
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import time
import weakref
from pathlib import Path

import brian2
import numpy as np
from brian2 import NeuronGroup, Synapses, device, get_device, prefs, set_device

from bioopzo.devices.base import DeviceCapabilities, Simulator
from bioopzo.devices.build_cache import BINARY, BuildCache, project_key
from bioopzo.devices.brian2_compat import (last_run_time, seed_generators_code,
                                           skip_written_arrays, standalone_array_variables,
                                           static_array_file, synaptic_pathways,
                                           timed_array_file)
from bioopzo.devices.cpp_standalone.events import two_pass_event_tests
from bioopzo.devices.cpp_standalone.exchange import exchange_folder, remove_folder
from bioopzo.devices.cpp_standalone.frames import frame_input
from bioopzo.devices.cpp_standalone.gaussian import CPP_GAUSSIAN, CPP_UNIFORM
from bioopzo.devices.cpp_standalone.pathways import (assign_schedules, serial_event_code,
                                                      serial_small_groups)
from bioopzo.devices.cpp_standalone.process import compile_project, run_binary
from bioopzo.devices.cpp_standalone.run_files import (RUN_FILES_VARIABLE, run_arguments,
                                                      sparse_values_code)
from bioopzo.devices.cpp_standalone.threads import (RUN_THREADS_VARIABLE, LoadMeter,
                                                    openmp_environment, run_threads_code,
                                                    threads_for_run)
from bioopzo.devices.cpp_standalone.vector_math import use_vector_math, write_header
from bioopzo.network import BrianNetwork, silence_expected_warnings

__all__ = ["StandaloneSimulator", "standalone_capabilities", "configure_make",
           "MALLOC_ENVIRONMENT"]

# the devices' log (training reports compilations and re-runs from it)
log = logging.getLogger("bioopzo.devices")


#: The binary's allocator asks for transparent huge pages for its large arrays
#: (glibc >= 2.35; other C libraries ignore it), unless the environment sets
#: GLIBC_TUNABLES: its start-up (allocating and first touching the synapses' and
#: inputs' arrays) then takes 4 KiB page faults 512 times fewer (on nmnist, 96
#: samples: 0.065 s of the binary's start-up and end instead of 0.12 s).
MALLOC_ENVIRONMENT = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}


def standalone_capabilities(threads: int = 1) -> DeviceCapabilities:
    """What cpp_standalone supports of the model with ``threads`` OpenMP threads
    (1 or fewer: no OpenMP): everything, ``gaussian()`` in C++, pathways
    without spike queues and input frames kept as their non-zero values included."""
    return DeviceCapabilities(gaussian=CPP_GAUSSIAN, uniform=CPP_UNIFORM,
                              pathway_templates=assign_schedules, slot_histories=serial_event_code,
                              serial_code=serial_small_groups, event_tests=two_pass_event_tests,
                              frame_input=frame_input,
                              openmp_threads=threads if threads > 1 else 0, run_args=True)


class StandaloneSimulator(Simulator):
    """Brian2 cpp_standalone: compile once, re-run the binary with ``run_args``."""

    name = "cpp_standalone"
    lazy_inputs = True     # frames from sparse sources never become dense (network.run_args)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.build_dir is None:
            raise ValueError("cpp_standalone needs a build directory")
        self._seed_holder = None
        self._runs = 0
        self._exchange = None   # the folder in memory of the runs' files (exchange.py)
        self._sparse_inputs = False   # the binary reads sparse inputs (run_files.py)
        self.used_cached_build = False   # the last build took its binary from the cache
        self.run_threads = 0             # OpenMP threads the last run used (threads.py)
        self.adapts_threads = False      # runs may use fewer threads than the build has
        self._load = LoadMeter()         # other processes' CPU use since the previous run

    @property
    def capabilities(self) -> DeviceCapabilities:
        return standalone_capabilities(self.config.device.threads)

    def _build(self, data, state):
        # Brian2 suffixes the names of new objects (and so of the generated files)
        # while objects of an earlier network of this process are alive; collecting
        # the unreachable ones keeps the code, and the build cache's key, the same
        gc.collect()
        silence_expected_warnings()
        set_device("cpp_standalone", directory=str(self.build_dir), build_on_run=False)
        device.reinit()
        device.activate(directory=str(self.build_dir), build_on_run=False)
        capabilities = self.capabilities
        prefs.devices.cpp_standalone.openmp_threads = capabilities.openmp_threads
        prefs.core.default_float_dtype = np.dtype(self.config.device.precision).type
        vector_math = use_vector_math(device)
        configure_make()
        brian2.defaultclock.dt = self.config.neuron.dt
        net = BrianNetwork(self.config, self.n_inputs, self.n_classes, data, state,
                           record_spikes=self.record_spikes, record_states=self.record_states,
                           capabilities=capabilities)
        holder = NeuronGroup(1, "rng_seed : 1", name="rng_seed_holder")
        net.network.add(holder)
        device.apply_run_args()
        for timed in net.timed_arrays.values():
            device.insert_code("main", sparse_values_code(timed))
        self._sparse_inputs = True
        array = device.get_array_name(holder.variables["rng_seed"])
        device.insert_code("main", seed_generators_code(array))
        # fewer running threads give the same results only where every pathway walks
        # bioopzo's templates (Brian2's own spike queues are one per build thread)
        self.adapts_threads = capabilities.openmp_threads > 1 and all(
            pathway.name in net.pathway_schedules for obj in net.network.objects
            if isinstance(obj, Synapses) for pathway in synaptic_pathways(obj))
        if self.adapts_threads:
            device.insert_code("main", run_threads_code(capabilities.openmp_threads))
        net.network.run(net.duration, namespace={})
        if self.build_dir.exists():
            if any(self.build_dir.iterdir()) and not (self.build_dir / "main.cpp").exists():
                raise ValueError(f"build directory {self.build_dir} is not empty and not a "
                                 "Brian2 project; choose an empty or new folder")
            shutil.rmtree(self.build_dir)   # a stale project of an earlier build
        device.build(directory=str(self.build_dir), compile=False, run=False)
        if vector_math:
            write_header(self.build_dir)
        self._trim_project(net)
        self.used_cached_build = self._compile()
        self._exchange = exchange_folder(self._exchanged_bytes(net, state))
        if self._exchange is not None:   # removed at close, or when the interpreter exits
            self._exchange_finalizer = weakref.finalize(self, remove_folder, self._exchange)
        self.network, self._seed_holder = net, holder

    def _trim_project(self, net) -> None:
        """Leave out of the generated project what no run needs: the build-time
        values of the inputs and of the learnable state (every run passes its own
        as ``run_args``, so each is read once; an empty file reads nothing), and
        the write-back at the end of a run of the Synapses' arrays that Python
        never reads (synapse indices, connect()'s arrays, synaptic variables
        outside the state)."""
        static = self.build_dir / "static_arrays"
        state = [target.model_variable for where in net.state_layout.targets.values()
                 for target in where]
        files = [timed_array_file(timed) for timed in net.timed_arrays.values()]
        files += [static_array_file(device, variable) for variable in state]
        for name in files:
            if (static / name).is_file():
                (static / name).write_bytes(b"")
        unread = [device.get_array_name(var, access_data=False)
                  for var in standalone_array_variables(device)
                  if _owned_by_synapses(var) and not any(var is v for v in state)
                  and (getattr(var, "dynamic", False) or var.size > 1)]
        skipped = skip_written_arrays(self.build_dir, unread)
        log.debug("the binary writes back %d arrays fewer (%s)", len(skipped), sorted(skipped))

    @staticmethod
    def _exchanged_bytes(net, state: dict) -> int:
        """At most about the bytes of a run's files: the state twice (in and
        out), the inputs' dense values, 16 MiB for the rest."""
        held = sum(np.asarray(values).nbytes for values in state.values())
        inputs = sum(timed.values.nbytes for timed in net.timed_arrays.values())
        inputs += sum(12 * frames.size for frames in net.frame_inputs.values())  # index + value
        return 2 * held + inputs + 2**24

    def _compile(self) -> bool:
        """Compile the generated project, or take its binary from the build cache
        (True: the cached binary was used)."""
        if not self.config.device.build_cache:
            self._make(None)
            return False
        cache = BuildCache()
        key = project_key(self.build_dir)
        with cache.lock(key):
            if cache.fetch(key, self.build_dir / BINARY):
                self._say(f"using the cached build of this network ({cache.entry_dir(key)})")
                return True
            seconds = self._make(key)
            cache.store(key, self.build_dir / BINARY,
                        {"network": self.config.name, "rule": self.config.rule.name,
                         "device": self.name, "compile_seconds": round(seconds, 1),
                         "brian2": brian2.__version__})
        return False

    def _make(self, key: str | None) -> float:
        self._say("compiling the network (first run of this network, ~1 min)" if key else
                  "compiling the network (~1 min; the build cache is off)")
        seconds = compile_project(self.build_dir)
        log.info("compiled the Brian2 C++ project in %s (%.1f s)", self.build_dir, seconds)
        self.n_builds += 1
        return seconds

    def _say(self, message: str) -> None:
        log.info(message)
        if self.progress is not None:
            self.progress(message)

    def _run_samples(self, data, state, seed):
        t0 = time.perf_counter()
        built = self.network is None
        if built:
            self._build(data.chunk(0, data.n_samples), state)     # the inputs read
        else:
            log.info("re-running the compiled binary in %s (no recompilation)", self.build_dir)
        net = self.network
        args = net.run_args(state, data, sparse_inputs=self._sparse_inputs)
        args[self._seed_holder.rng_seed] = np.array([float(seed)])
        self._runs += 1
        t1 = time.perf_counter()
        files = []
        try:
            self._execute(self._run_arguments(args, files), self._results_folder(self._runs))
        finally:
            for path in files:
                path.unlink(missing_ok=True)
        sim_time = time.perf_counter() - t1
        result = self._collect(net, sim_time, t0, built and not self.used_cached_build)
        seconds = last_run_time(device)
        result.network_time = float("nan") if seconds is None else float(seconds)
        previous = self.build_dir / f"results_{self._runs - 1}"
        if previous.exists() or previous.is_symlink():
            remove_folder(previous)
        return result

    def _results_folder(self, run: int) -> str:
        """The results folder of run ``run``: ``build_dir/results_<run>``, a link
        into the exchange folder where there is one."""
        name = f"results_{run}"
        if self._exchange is None:
            return name
        target = self._exchange / name
        target.mkdir(exist_ok=True)
        link = self.build_dir / name
        if link.is_symlink() or link.exists():
            remove_folder(link)
        link.symlink_to(target, target_is_directory=True)
        return name

    def _files_folder(self) -> Path:
        """Where a run's ``run_args`` files go: the exchange folder, else the
        project's ``static_arrays``."""
        return self._exchange or self.build_dir.resolve() / "static_arrays"

    def _execute(self, run_args: list[str], results: str) -> None:
        """Run the compiled binary with ``run_args`` into ``build_dir/results``."""
        threads = self.capabilities.openmp_threads
        busy = self._load.busy() if threads > 1 else 0.0
        self.run_threads = (threads_for_run(threads, busy) if self.adapts_threads
                            else max(1, threads))
        env = openmp_environment(threads, self.run_threads, busy)
        if self.adapts_threads:
            env[RUN_THREADS_VARIABLE] = str(self.run_threads)
            if self.run_threads < threads:
                log.info("the machine is busy: this run uses %d of the build's %d threads "
                         "(same results)", self.run_threads, threads)
        if env.get("OMP_WAIT_POLICY"):
            log.info("the machine is busy: OpenMP threads wait passively (%s)", env)
        env[RUN_FILES_VARIABLE] = str(self._files_folder())
        env.update({k: v for k, v in MALLOC_ENVIRONMENT.items() if k not in os.environ})
        run_binary(get_device(), self.build_dir, results, run_args, environment=env)

    def _run_arguments(self, args: dict, files: list) -> list[str]:
        """Brian2's ``run_args`` as command-line strings, arrays written to files
        (run_files.py; their paths appended to ``files``)."""
        return run_arguments(args, self._files_folder(), files)

    def close(self):
        if self._exchange is not None:
            for link in self.build_dir.glob("results_*"):
                if link.is_symlink():
                    remove_folder(link)
            self._exchange_finalizer()
            self._exchange = None
        if self.network is not None:
            device.reinit()
            set_device("runtime")
            prefs.core.default_float_dtype = np.float64
            self.network = None


def _owned_by_synapses(variable) -> bool:
    """Whether a Brian2 variable belongs to a live Synapses (owners are weak
    references; one of a collected object belongs to nothing)."""
    try:
        return isinstance(variable.owner, Synapses)
    except ReferenceError:
        return False


def configure_make(jobs: int | None = None) -> None:
    """Limit ``make``'s parallel jobs to the CPU count (Brian2's default ``-j``
    starts one compiler per source file at once, which exhausts memory on
    large projects)."""
    jobs = jobs or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                       else (os.cpu_count() or 1))
    prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{jobs}"]
