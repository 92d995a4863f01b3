"""Training and evaluation: one simulation run per epoch.

Each epoch streams the (shuffled) training samples followed by the test
samples through the compiled model in a single run: learning and noise are on
for the training samples and gated off for the test samples inside the
simulation. Training accuracy is the online accuracy (predictions made while
learning); test accuracy is measured with learning off after the epoch's
training samples.

A run folder holds::

    config.toml        resolved config (every default filled in)
    metrics.csv        one row per epoch
    weights.npz        final learnable state (weights, biases, feedback matrices, optimizer)
    versions.json      package, Brian2, NumPy and Python versions, device, command
    summary.json       final and best test accuracy, wall time
    learning_curve.png

The folder is written as ``<out>.partial`` and renamed at the end, so an
interrupted run never leaves a half-written folder where a finished one was.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bioopzo.config import ConfigError, ExperimentConfig, load_config
from bioopzo.data import check_labels, load_dataset
from bioopzo.devices import epoch_seed, make_simulator
from bioopzo.network import initial_state, make_epoch_data
from bioopzo.updates import learning_rate_factors

__all__ = ["train", "evaluate", "simulate", "TrainingResult", "RunFolderError", "versions",
           "load_run"]

log = logging.getLogger("bioopzo.train")

RUN_FILES = ("config.toml", "metrics.csv", "weights.npz", "summary.json")


class RunFolderError(ConfigError):
    """The output folder cannot be used (it holds a run, or is not a folder)."""


@dataclass
class TrainingResult:
    run_dir: Path
    config: ExperimentConfig
    metrics: list = field(default_factory=list)
    state: dict = field(default_factory=dict)

    @property
    def test_accuracy(self) -> float:
        return float(self.metrics[-1]["test_accuracy"])


def versions(config: ExperimentConfig | None = None) -> dict:
    import brian2

    import bioopzo

    out = {
        "bioopzo": bioopzo.__version__,
        "brian2": brian2.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": " ".join(sys.argv),
    }
    if config is not None:
        out["device"] = config.device.name
        from bioopzo.config import EVENT_DATASETS

        if config.data.dataset in EVENT_DATASETS:   # the event files are read by tonic
            import tonic

            out["tonic"] = tonic.__version__
    return out


def _check_out_dir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"output path {str(out)!r} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if any((out / name).exists() for name in RUN_FILES):
            if not overwrite:
                raise RunFolderError(
                    f"{str(out)!r} already holds a run; choose another --out, or pass "
                    "--overwrite to replace it (the old run is kept until the new one finishes)"
                )
        else:
            raise RunFolderError(
                f"{str(out)!r} is not empty and holds no bioopzo run; choose an empty or new folder"
            )


def _epoch_metrics(o_sum, loss, data, T):
    pred = np.argmax(o_sum, axis=1)
    correct = pred == data.labels
    train = data.is_training > 0
    test = ~train
    mean = lambda a: float(np.mean(a)) if a.size else float("nan")  # noqa: E731
    return {
        "train_loss": mean(loss[train]) / T,
        "train_accuracy": mean(correct[train]),
        "test_loss": mean(loss[test]) / T,
        "test_accuracy": mean(correct[test]),
    }


def train(config: ExperimentConfig, out: str | Path, *, overwrite: bool = False,
          progress: bool = True, echo=print, record_spikes: bool = False,
          keep_build: bool = False) -> TrainingResult:
    """Train ``config`` and write its run folder ``out``; returns the metrics and state.

    The Brian2 build folder (``brian_build``, ~10 MB of generated code and
    objects) is removed at the end unless ``keep_build``.
    """
    out = Path(out)
    _check_out_dir(out, overwrite)
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    try:
        result = _train_into(config, partial, progress=progress, echo=echo,
                             record_spikes=record_spikes)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if not keep_build:
        shutil.rmtree(partial / "brian_build", ignore_errors=True)
    # swap in the finished run; an old run is only removed once the new one is complete
    if out.exists():
        old = out.with_name(out.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        out.rename(old)
        partial.rename(out)
        shutil.rmtree(old)
    else:
        partial.rename(out)
    result.run_dir = out
    return result


def _train_into(config, run_dir: Path, *, progress, echo, record_spikes) -> TrainingResult:
    from tqdm import tqdm

    t_start = time.perf_counter()
    cfg = config
    seed = cfg.training.seed
    (run_dir / "config.toml").write_text(cfg.to_toml())
    (run_dir / "versions.json").write_text(json.dumps(versions(cfg), indent=2) + "\n")
    dataset = load_dataset(cfg.data, seed)
    check_labels(dataset.y_train, dataset.n_classes, "training labels")
    check_labels(dataset.y_test, dataset.n_classes, "test labels")
    state = initial_state(cfg, dataset.n_inputs, dataset.n_classes, seed)
    rng = np.random.default_rng([seed, 23])
    T = cfg.data.steps_per_sample
    rows: list[dict] = []
    sim = make_simulator(cfg, dataset.n_inputs, dataset.n_classes, run_dir / "brian_build",
                         record_spikes=record_spikes)
    echo(f"training {cfg.name}: rule {cfg.rule.name}, {dataset.n_inputs}-"
         f"{'-'.join(map(str, cfg.network.hidden))}-{dataset.n_classes}, "
         f"{len(dataset.y_train)} train / {len(dataset.y_test)} test samples of {T} steps, "
         f"device {cfg.device.name}")
    bar = tqdm(range(1, cfg.training.epochs + 1), desc="epochs", unit="epoch",
               disable=not progress, file=sys.stderr, leave=False)
    with sim:
        for epoch in bar:
            t0 = time.perf_counter()
            order = rng.permutation(len(dataset.y_train))
            factors = learning_rate_factors(cfg.optimizer, epoch, cfg.training.epochs, len(order))
            data = make_epoch_data(dataset.x_train, dataset.y_train, dataset.x_test,
                                   dataset.y_test, cfg.optimizer.samples_per_update, order, factors)
            res = sim.run_epoch(data, state, epoch_seed(seed, epoch))
            state = res.state
            _check_finite(state, epoch)
            row = {"epoch": epoch, **_epoch_metrics(res.o_sum, res.loss, data, T)}
            wall = time.perf_counter() - t0
            row.update({
                "epoch_seconds": wall,
                "simulation_seconds": res.simulation_time,
                "outside_simulation_seconds": wall - res.simulation_time,
                "compiled": int(res.compiled),
            })
            steps = data.n_samples * T
            for l, counts in enumerate(res.spike_counts, start=1):
                row[f"rate_hidden{l}"] = float(np.sum(counts)) / (len(counts) * steps)
            rows.append(row)
            _write_metrics(run_dir / "metrics.csv", rows)
            note = " (compiled)" if res.compiled else ""
            line = (f"epoch {epoch:>3}  train loss {row['train_loss']:.4f}  "
                    f"train acc {100 * row['train_accuracy']:5.1f} %  "
                    f"test acc {100 * row['test_accuracy']:5.1f} %  {wall:6.1f} s{note}")
            if progress:
                bar.write(line, file=sys.stdout)
            else:
                echo(line)
    np.savez(run_dir / "weights.npz", **state)
    summary = {
        "name": cfg.name,
        "rule": cfg.rule.name,
        "epochs": cfg.training.epochs,
        "seed": seed,
        "final_test_accuracy": rows[-1]["test_accuracy"],
        "best_test_accuracy": max(r["test_accuracy"] for r in rows),
        "final_train_accuracy": rows[-1]["train_accuracy"],
        "wall_seconds": time.perf_counter() - t_start,
        "n_builds": sim.n_builds,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _plot_learning_curve(rows, run_dir / "learning_curve.png", cfg)
    return TrainingResult(run_dir, cfg, rows, state)


def _check_finite(state: dict, epoch: int) -> None:
    bad = [k for k, v in state.items() if not np.all(np.isfinite(v))]
    if bad:
        raise FloatingPointError(
            f"epoch {epoch}: {', '.join(bad)} became NaN or infinite; lower the learning rate "
            "or the noise scale"
        )


def _write_metrics(path: Path, rows: list[dict]) -> None:
    fields = list(rows[0])
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def _plot_learning_curve(rows, path: Path, cfg) -> None:
    from matplotlib.figure import Figure   # no pyplot: leaves the user's backend alone

    from bioopzo.plots import learning_curve

    fig = Figure(figsize=(8, 3.2))
    learning_curve(rows, f"{cfg.name}: {cfg.rule.name}, seed {cfg.training.seed}",
                   axes=fig.subplots(1, 2))
    fig.savefig(path, dpi=120)


def load_run(run_dir: str | Path) -> tuple[ExperimentConfig, dict]:
    """The resolved config and learnable state of a finished run."""
    run_dir = Path(run_dir)
    missing = [name for name in ("config.toml", "weights.npz") if not (run_dir / name).is_file()]
    if missing:
        raise RunFolderError(
            f"{str(run_dir)!r} is not a finished bioopzo run (missing {', '.join(missing)}); "
            "pass the folder that `bioopzo train --out` wrote"
        )
    config = load_config(run_dir / "config.toml")
    try:
        with np.load(run_dir / "weights.npz") as f:
            state = {k: f[k] for k in f.files}
    except Exception as exc:  # corrupt or truncated file
        raise RunFolderError(f"{run_dir / 'weights.npz'} cannot be read ({exc})") from None
    return config, state


def _run_without_learning(config: ExperimentConfig, state: dict, intensities, labels, seed: int,
                          build_dir=None, **recording):
    """Run samples through a trained network with learning and noise off.

    Returns the epoch result and the simulator's network (read before the
    device is released)."""
    import tempfile

    intensities = np.asarray(intensities, float)
    labels = check_labels(labels, state["Wout"].shape[0], "labels")
    data = make_epoch_data(intensities[:0], labels[:0], intensities, labels, 1)
    with tempfile.TemporaryDirectory(prefix="bioopzo-eval-") as tmp:
        sim = make_simulator(config, intensities.shape[1], state["Wout"].shape[0],
                             build_dir or Path(tmp) / "build", **recording)
        with sim:
            res = sim.run_epoch(data, state, seed)
            extra = _recorded(sim.network, config.neuron.dt) if recording else {}
    return data, res, extra


def _recorded(net, dt) -> dict:
    spikes = [(np.round(np.asarray(mon.t[:] / dt)).astype(int), np.asarray(mon.i[:]))
              for mon in net.spike_monitors]
    states = {key: np.asarray(getattr(mon, key[1])[:]).T for key, mon in net.state_monitors.items()}
    return {"spikes": spikes, "recorded": states}


def evaluate(run_dir: str | Path, *, device: str | None = None, build_dir: str | Path | None = None
             ) -> dict:
    """Reload a run's weights and measure test accuracy with learning off."""
    config, state = load_run(run_dir)
    if device is not None:
        config = config.with_overrides({"device": {"name": device}})
    dataset = load_dataset(config.data, config.training.seed)
    data, res, _ = _run_without_learning(config, state, dataset.x_test, dataset.y_test,
                                         epoch_seed(config.training.seed, 0), build_dir)
    metrics = _epoch_metrics(res.o_sum, res.loss, data, config.data.steps_per_sample)
    return {"test_accuracy": metrics["test_accuracy"], "test_loss": metrics["test_loss"],
            "n_test": int(len(dataset.y_test)), "device": config.device.name}


def simulate(config: ExperimentConfig, state: dict, intensities: np.ndarray, labels: np.ndarray,
             *, device: str = "runtime", seed: int = 0, record_states: tuple = ()) -> dict:
    """Run samples through a trained network with learning off and record every spike.

    Returns per-sample readout sums and predictions, and for each hidden layer
    the (step, neuron) indices of its spikes: what notebooks plot as rasters.
    """
    config = config.with_overrides({"device": {"name": device}})
    _, res, extra = _run_without_learning(config, state, intensities, labels, seed,
                                          record_spikes=True, record_states=record_states)
    return {"o_sum": res.o_sum, "predictions": np.argmax(res.o_sum, axis=1), **extra}
