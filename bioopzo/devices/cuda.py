"""The ``cuda_standalone`` device: the bioopzo network through brian2cuda.

Runs the same model source as the default lane (network.py, DESIGN.md
sections 1 and 3) as a CUDA project: generated and compiled (nvcc) once per
network, then every epoch re-runs the binary with the epoch's data and the
previous epoch's state passed as ``run_args`` (brian2 2.10.1, as on
cpp_standalone). The per-epoch seed is passed too, but brian2cuda draws its
random numbers with cuRAND, which the seed variable does not reach: noise on
this device is not bit-reproducible.

brian2cuda 1.0b1 (Python >= 3.12, brian2 == 2.10.1) builds only with these
preference fixes, applied by :func:`configure_cuda` (docs/lanes/cuda.md):

- C++17 for nvcc (``-std=c++17``) and gcc (``c++11`` replaced by ``c++17``): CUDA 12.x/13.x
  Thrust, CUB and libcu++ need it.
- cuRAND headers and library from ``$BIOOPZO_CURAND_DIR`` (e.g. the
  ``nvidia-curand-cu12`` wheel's ``nvidia/curand``) when the toolkit lacks them; a
  ``libcurand.so`` link is made next to ``libcurand.so.10`` because the makefile links
  with ``-lcurand``.
- Without an NVIDIA driver (``nvidia-smi -L`` fails), GPU detection is switched off
  and the project is compiled for compute capability ``$BIOOPZO_CUDA_CC`` (default
  9.0); such a project compiles but cannot run (``compile_only``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from bioopzo.config import ConfigError
from bioopzo.devices.base import DeviceCapabilities, DeviceUnavailableError
from bioopzo.devices.cpp_standalone.simulator import StandaloneSimulator, configure_make
from bioopzo.network import BrianNetwork, silence_expected_warnings

__all__ = ["CUDASimulator", "configure_cuda", "lane_missing", "gpu_present", "nvcc_path",
           "cuda_root", "compile_project"]

log = logging.getLogger("bioopzo.devices.cuda")

DOC = "docs/lanes/cuda.md"


def nvcc_path() -> str | None:
    """nvcc from ``$CUDA_PATH/bin`` or the PATH."""
    cuda = os.environ.get("CUDA_PATH")
    if cuda and (Path(cuda) / "bin" / "nvcc").exists():
        return str(Path(cuda) / "bin" / "nvcc")
    return shutil.which("nvcc")


def cuda_root() -> Path | None:
    """The toolkit folder: ``$CUDA_PATH``, else the one holding the resolved nvcc (a
    wrapper script elsewhere on the PATH falls back to /usr/local/cuda)."""
    if os.environ.get("CUDA_PATH"):
        return Path(os.environ["CUDA_PATH"])
    nvcc = nvcc_path()
    if nvcc is None:
        return None
    for root in (Path(os.path.realpath(nvcc)).parent.parent, Path("/usr/local/cuda")):
        if (root / "include" / "cuda_runtime.h").exists():
            return root
    return None


def gpu_present() -> bool:
    """An NVIDIA driver answers ``nvidia-smi -L`` with at least one GPU."""
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def lane_missing(need_gpu: bool = False) -> str | None:
    """Why the cuda lane cannot compile (or, with ``need_gpu``, run) here; None when it can."""
    if importlib.util.find_spec("brian2cuda") is None:
        return f"brian2cuda not installed (cuda lane: see {DOC})"
    if nvcc_path() is None:
        return f"nvcc not found on PATH or in $CUDA_PATH/bin (cuda lane: see {DOC})"
    if need_gpu and not gpu_present():
        return f"no NVIDIA GPU/driver (nvidia-smi -L fails; cuda lane: see {DOC})"
    return None


def _curand_dirs() -> tuple[str, str] | None:
    root = os.environ.get("BIOOPZO_CURAND_DIR")
    if not root:
        return None
    inc, lib = Path(root) / "include", Path(root) / "lib"
    if not (inc / "curand.h").exists():
        raise ConfigError(f"BIOOPZO_CURAND_DIR={root} has no include/curand.h; point it at a "
                          "folder with include/ and lib/ of cuRAND (e.g. the nvidia-curand-cu12 "
                          "wheel's site-packages/nvidia/curand)")
    so = lib / "libcurand.so"
    if not so.exists():
        versioned = sorted(lib.glob("libcurand.so.*"))
        if not versioned:
            raise ConfigError(f"{lib} holds no libcurand.so.*")
        so.symlink_to(versioned[0].name)
    return str(inc), str(lib)


def configure_cuda(gpu: bool | None = None) -> bool:
    """Apply the preference fixes brian2cuda 1.0b1 needs; returns whether a GPU is used."""
    from brian2 import prefs

    gpu = gpu_present() if gpu is None else gpu
    backend = prefs.devices.cuda_standalone.cuda_backend
    root = cuda_root()
    if root is not None:
        backend.cuda_path = str(root)
    if not gpu:
        backend.detect_gpus = False
        backend.gpu_id = 0
        backend.compute_capability = float(os.environ.get("BIOOPZO_CUDA_CC", "9.0"))
    if "-std=c++17" not in backend.extra_compile_args_nvcc:
        backend.extra_compile_args_nvcc = [*backend.extra_compile_args_nvcc, "-std=c++17"]
    prefs.codegen.cpp.extra_compile_args_gcc = [
        a.replace("c++11", "c++17") for a in prefs.codegen.cpp.extra_compile_args_gcc]
    dirs = _curand_dirs()
    if dirs is not None:
        inc, lib = dirs
        for key, value in (("include_dirs", inc), ("library_dirs", lib),
                           ("runtime_library_dirs", lib)):
            current = list(prefs.codegen.cpp[key])
            if value not in current:
                prefs.codegen.cpp[key] = [*current, value]
    return gpu


class CUDASimulator(StandaloneSimulator):
    """brian2cuda: compile once (nvcc), re-run the binary with ``run_args``.

    ``compile_only=True`` generates and compiles the project and stops
    (for machines without a GPU); :meth:`run_epoch` then raises.
    """

    name = "cuda_standalone"

    def __init__(self, *args, compile_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        reason = lane_missing(need_gpu=not compile_only)
        if reason is not None:
            raise DeviceUnavailableError(f"device 'cuda_standalone' cannot run here: {reason}")
        self.compile_only = compile_only
        self.compile_seconds: float | None = None

    @property
    def capabilities(self) -> DeviceCapabilities:
        """No pathways on the sample clock (the replayed once-per-sample update moves
        pathways onto it, which was never compiled on brian2cuda), ``randn()``
        noise (cuRAND; devices/gaussian.py has no CUDA implementation), Brian2's own
        pathway code; new state and data as ``run_args`` (docs/lanes/cuda.md)."""
        return DeviceCapabilities(sample_clock_pathways=False, run_args=True)

    def _build(self, data, state):
        import brian2
        import brian2cuda  # noqa: F401  (registers the 'cuda_standalone' device)
        from brian2 import NeuronGroup, device, set_device

        silence_expected_warnings()
        set_device("cuda_standalone", directory=str(self.build_dir), build_on_run=False)
        device.reinit()
        device.activate(directory=str(self.build_dir), build_on_run=False)
        configure_make()
        configure_cuda(gpu=False if self.compile_only else None)
        brian2.defaultclock.dt = self.config.neuron.dt
        net = BrianNetwork(self.config, self.n_inputs, self.n_classes, data, state,
                           record_spikes=self.record_spikes, record_states=self.record_states,
                           capabilities=self.capabilities)
        # the seed variable travels in run_args like on cpp_standalone, but cuRAND ignores it
        holder = NeuronGroup(1, "rng_seed : 1", name="rng_seed_holder")
        net.network.add(holder)
        device.apply_run_args()
        net.network.run(net.duration, namespace={})
        if self.build_dir.exists():
            if any(self.build_dir.iterdir()) and not (self.build_dir / "main.cu").exists():
                raise ConfigError(f"build directory {self.build_dir} is not empty and not a "
                                  "brian2cuda project; choose an empty or new folder")
            shutil.rmtree(self.build_dir)
        t = time.perf_counter()
        device.build(directory=str(self.build_dir), compile=True, run=False)
        self.compile_seconds = time.perf_counter() - t
        log.info("compiled the brian2cuda project in %s (%.1f s)", self.build_dir,
                 self.compile_seconds)
        self.network, self._seed_holder = net, holder
        self.n_builds += 1

    def _execute(self, run_args: list[str], results: str) -> None:
        """brian2cuda's own ``device.run`` (its run differs from cpp_standalone's)."""
        from brian2 import device

        device.run(directory=str(self.build_dir), with_output=False, run_args=run_args,
                   results_directory=results)

    def compile(self, data, state) -> Path:
        """Generate and compile the project (no run); returns the binary's path."""
        self._build(data, state)
        return self.build_dir / "main"

    def run_epoch(self, data, state, seed):
        if self.compile_only:
            raise DeviceUnavailableError("this cuda_standalone simulator is compile-only "
                                         f"(no GPU here); see {DOC}")
        return super().run_epoch(data, state, seed)


def compile_project(config, n_inputs: int, n_classes: int, data, state, build_dir) -> dict:
    """Generate and nvcc-compile the network of ``config``; returns paths and seconds."""
    sim = CUDASimulator(config, n_inputs, n_classes, build_dir, compile_only=True)
    with sim:
        t = time.perf_counter()
        binary = sim.compile(data, state)
        return {"binary": binary, "seconds": time.perf_counter() - t,
                "compile_seconds": sim.compile_seconds}
