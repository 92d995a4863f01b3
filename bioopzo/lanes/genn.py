"""The ``genn`` device: the bioopzo network through brian2genn and GeNN 4.x.

Runs the same model source as the default lane (network.py, DESIGN.md
sections 1 and 3) on GeNN, by default in GeNN's CPU-only mode (single-threaded
CPU backend, ``use_GPU=False``); ``device.threads`` is ignored there.

brian2genn 1.7.0 needs brian2 2.5.x, which has neither ``run_args`` nor
``seed()`` in standalone mode, so a compiled project cannot be re-run with new
data or state. The lane therefore rebuilds the project for every epoch, with
that epoch's learnable state assigned as initial values and the epoch's data
baked into the TimedArrays (one GeNN code generation and compilation per
epoch). Without ``seed()``, the noise of each epoch comes from Brian's own
random generator seeded by the device, not from the epoch seed: GeNN runs are
not bit-reproducible.

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

from bioopzo.config import ConfigError
from bioopzo.devices import DeviceUnavailableError, Simulator

__all__ = ["GeNNSimulator", "genn_path", "lane_missing"]

log = logging.getLogger("bioopzo.lanes.genn")

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
        if use_gpu is None:
            use_gpu = os.environ.get("BIOOPZO_GENN_GPU", "0") == "1"
        self.use_gpu = bool(use_gpu)

    def run_epoch(self, data, state, seed):
        import brian2
        import brian2genn  # noqa: F401  (registers the 'genn' device)
        from brian2 import device, set_device

        from bioopzo.network import BrianNetwork

        t0 = time.perf_counter()
        if self.build_dir.exists():
            if any(self.build_dir.iterdir()) and not (self.build_dir / "magicnetwork_model.cpp").exists():
                raise ConfigError(f"build directory {self.build_dir} is not empty and not a "
                                  "brian2genn project; choose an empty or new folder")
            shutil.rmtree(self.build_dir)
        self.build_dir.parent.mkdir(parents=True, exist_ok=True)
        set_device("genn", directory=str(self.build_dir), use_GPU=self.use_gpu)
        device.reinit()
        device.activate(directory=str(self.build_dir), use_GPU=self.use_gpu)
        brian2.defaultclock.dt = self.config.neuron.dt
        net = BrianNetwork(self.config, self.n_inputs, self.n_classes, data, state,
                           record_spikes=self.record_spikes, record_states=self.record_states)
        self.network = net
        self.n_builds += 1
        log.info("generating, compiling and running the GeNN project in %s", self.build_dir)
        net.network.run(net.duration, namespace={})   # build_on_run: codegen, compile, run
        sim_time = _binary_seconds(device, time.perf_counter() - t0)
        return self._collect(net, sim_time, t0, compiled=True)

    def close(self):
        from brian2 import device, set_device

        if self.network is not None:
            device.reinit()
            set_device("runtime")
            self.network = None


def _binary_seconds(device, fallback: float) -> float:
    """Seconds the compiled binary ran (brian2genn records them), else ``fallback``."""
    seconds = getattr(device, "_last_run_time", None)
    try:
        return float(seconds) if seconds else fallback
    except (TypeError, ValueError):
        return fallback
