"""The ``genn`` device: the bioopzo network through brian2genn and GeNN 4.x.

Runs the same model source as the default lane (network.py, DESIGN.md
sections 1 and 3) on GeNN, by default in GeNN's CPU-only mode (single-threaded
CPU backend, ``use_GPU=False``); ``device.threads`` is ignored there.

brian2genn 1.7.0 needs brian2 2.5.x, which has neither ``run_args`` nor
``seed()`` in standalone mode. The lane builds the project once, with the first
epoch's learnable state assigned as initial values and its data baked into the
TimedArrays. Brian writes those values to files under ``static_arrays/``, which
the binary reads at start; every later epoch rewrites these files with the
epoch's state and data and re-runs the same binary (``./main test <duration>``),
which is what ``run_args`` does on brian2 >= 2.6. On the first build the files
the lane would write are compared byte for byte with Brian's own, so a changed
file layout is an error, not a silent mismatch. Without ``seed()``, the noise
comes from random generators seeded by the device at each run, not from the
epoch seed: GeNN runs are not bit-reproducible.

Equations are those of network.py: one step = dt; the learnable state moves in
and out as the same dict of NumPy arrays (W_l (n_post, n_pre), biases, feedback
matrices, optimizer state).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np

from bioopzo.config import ConfigError
from bioopzo.devices.base import DeviceCapabilities, DeviceUnavailableError, Simulator
from bioopzo.devices.brian2_compat import last_run_time, static_array_file
from bioopzo.network import BrianNetwork, silence_expected_warnings

__all__ = ["GeNNSimulator", "genn_path", "lane_missing"]

log = logging.getLogger("bioopzo.devices.genn")

DOC = "docs/lanes/genn.md"


def genn_path() -> Path | None:
    """GeNN's source tree from ``$GENN_PATH``, or None."""
    path = os.environ.get("GENN_PATH")
    return Path(path) if path else None


def lane_missing() -> str | None:
    """Why the genn lane cannot run here (None when it can)."""
    import importlib.util

    if importlib.util.find_spec("brian2genn") is None:
        return f"brian2genn not installed (genn lane: see {DOC})"
    path = genn_path()
    if path is None:
        return f"GENN_PATH not set to a GeNN 4.x source tree (genn lane: see {DOC})"
    version_file = path / "version.txt"
    if not version_file.is_file():
        return f"GENN_PATH={path} holds no GeNN version.txt (genn lane: see {DOC})"
    version = version_file.read_text().strip()
    if not version.startswith("4."):
        return (f"GENN_PATH={path} is GeNN {version}; brian2genn 1.7.0 needs GeNN 4.x "
                f"(>= 4.2.1; genn lane: see {DOC})")
    return None


class GeNNSimulator(Simulator):
    """brian2genn device; rebuilds and recompiles the GeNN project every epoch."""

    name = "genn"

    def __init__(self, *args, use_gpu: bool | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        reason = lane_missing()
        if reason is not None:
            raise DeviceUnavailableError(f"device 'genn' cannot run here: {reason}")
        if self.build_dir is None:
            raise ValueError("genn needs a build directory")
        if self.config.noise.distribution == "sphere":
            raise ConfigError("noise.distribution = 'sphere' needs linked variables, which the "
                              "genn device does not support; use 'gaussian' or 'rademacher' "
                              f"(see {DOC}, exclusions)")
        if self.config.optimizer.schedule != "step":
            raise ConfigError(
                f"[optimizer] schedule = {self.config.optimizer.schedule!r}: the genn lane runs the "
                "'step' schedule only (the once-per-sample updates run on a second clock of period "
                f"T dt, which brian2genn does not support); set schedule = 'step' (see {DOC})")
        if use_gpu is None:
            use_gpu = os.environ.get("BIOOPZO_GENN_GPU", "0") == "1"
        self.use_gpu = bool(use_gpu)
        self.build_seconds: float | None = None
        #: every summed hop lags one step on brian2genn; realign the noise for the
        #: feedback rules (docs/lanes/genn.md, exclusion 2). BIOOPZO_GENN_SUMMED_LAG=0
        #: builds the model unchanged (to measure the misalignment).
        self.summed_lag = int(os.environ.get("BIOOPZO_GENN_SUMMED_LAG", "1"))

    @property
    def capabilities(self) -> DeviceCapabilities:
        """No custom events (dense summed forward input), summed hops lagging
        ``summed_lag`` steps, ``randn()`` noise (devices/gaussian.py has no GeNN
        implementation)."""
        return DeviceCapabilities(custom_events=False, summed_lag=self.summed_lag)

    def run_epoch(self, data, state, seed):
        """The whole epoch in one run (the project is rebuilt per epoch anyway)."""
        t0 = time.perf_counter()
        data = data.chunk(0, data.n_samples)
        compiled = self.network is None
        if compiled:
            self._build(data, state)
        else:
            self._rewrite_inputs(data, state, check=False)
            log.info("re-running the GeNN binary in %s with new state and data", self.build_dir)
            _device().run(str(self.build_dir), self.use_gpu, False)
        sim_time = _binary_seconds(_device(), time.perf_counter() - t0)
        return self._collect(self.network, sim_time, t0, compiled=compiled)

    def _build(self, data, state):
        import brian2
        import brian2genn  # noqa: F401  (registers the 'genn' device)
        from brian2 import device, set_device

        if self.build_dir.exists():
            if any(self.build_dir.iterdir()) and not (self.build_dir / "magicnetwork_model.cpp").exists():
                raise ConfigError(f"build directory {self.build_dir} is not empty and not a "
                                  "brian2genn project; choose an empty or new folder")
            shutil.rmtree(self.build_dir)
        self.build_dir.parent.mkdir(parents=True, exist_ok=True)
        silence_expected_warnings()
        set_device("genn", directory=str(self.build_dir), use_GPU=self.use_gpu)
        device.reinit()
        device.activate(directory=str(self.build_dir), use_GPU=self.use_gpu)
        brian2.defaultclock.dt = self.config.neuron.dt
        net = BrianNetwork(self.config, self.n_inputs, self.n_classes, data, state,
                           record_spikes=self.record_spikes, record_states=self.record_states,
                           capabilities=self.capabilities)
        self.network = net
        self.n_builds += 1
        log.info("generating, compiling and running the GeNN project in %s", self.build_dir)
        t = time.perf_counter()
        net.network.run(net.duration, namespace={})   # build_on_run: codegen, compile, run
        self.build_seconds = time.perf_counter() - t
        self._rewrite_inputs(data, state, check=True)

    def _input_files(self, data, state) -> dict[Path, np.ndarray]:
        """static_arrays file -> the values the binary reads from it at start.

        The same values ``BrianNetwork.run_args`` gives on brian2 >= 2.6 (whose
        VariableView keys brian2 2.5.4 cannot hash)."""
        net, device = self.network, _device()
        data = net.check_run_data(data)
        folder = self.build_dir / "static_arrays"
        files = net.state_layout.files(
            state, lambda target: folder / static_array_file(device, target.model_variable))
        streams = net.streams(data)
        for key, timed_array in net.timed_arrays.items():
            values = np.ascontiguousarray(np.asarray(streams[key], dtype=np.float64)).ravel()
            files[folder / f"{timed_array.name}_values"] = values
        return files

    def _rewrite_inputs(self, data, state, *, check: bool) -> None:
        """Write state and data for the next run; ``check``: compare with Brian's files."""
        for path, values in self._input_files(data, state).items():
            if not path.is_file():
                raise RuntimeError(f"the GeNN project lacks {path}; brian2/brian2genn changed how "
                                   "initial values reach the binary (genn lane needs brian2 2.5.4, "
                                   f"brian2genn 1.7.0; see {DOC})")
            if check:
                if path.read_bytes() != values.tobytes():
                    raise RuntimeError(f"{path} does not hold the values bioopzo assigned; the "
                                       "genn lane cannot re-run this project with new state/data")
                continue
            if path.stat().st_size != values.nbytes:
                raise RuntimeError(f"{path}: {path.stat().st_size} bytes, new values "
                                   f"{values.nbytes}; the data do not fit the compiled model")
            tmp = path.with_name(path.name + ".tmp")
            values.tofile(tmp)
            tmp.replace(path)

    def close(self):
        from brian2 import device, set_device

        if self.network is not None:
            device.reinit()
            set_device("runtime")
            self.network = None


def _device():
    from brian2 import get_device

    return get_device()


def _binary_seconds(device, fallback: float) -> float:
    """Seconds the compiled binary ran (brian2genn records them), else ``fallback``."""
    seconds = last_run_time(device)
    try:
        return float(seconds) if seconds else fallback
    except (TypeError, ValueError):
        return fallback
