"""Training and evaluation: epochs streamed through the compiled model.

Each epoch streams the (shuffled) training samples through the compiled model
(in runs of ``training.samples_per_run`` samples) with learning and noise on,
then the test samples with learning and noise off, in runs of their own. Training
accuracy is the online accuracy (predictions made while learning); test accuracy
is measured with learning off after the epoch's training samples.

The test samples' random stream (rate-coded inputs draw ``rand()`` every step)
is their own: the test runs of epoch e of a run seeded s start from
:func:`evaluation_seed` (s, e) = ``SeedSequence([s, e, 4057])`` modulo 2^31 - 1
(run k > 0 from ``run_seed`` of it), whatever the number of training samples.
summary.json records the last epoch's ``evaluation_seed`` and the run size
``samples_per_run``, and :func:`evaluate` replays them: on the device the run
trained on it reproduces the recorded test accuracy exactly. On another device
the inputs are drawn by another generator (NumPy's or the C++ one), so rate-coded
test accuracy agrees only statistically; direct and latency coding draw nothing
and agree up to floating-point rounding. With
``data.validation_fraction`` > 0 the evaluation samples are a validation split
carved from the training set and the test set is never read; the ``test``
columns then hold validation accuracy and summary.json says
``"evaluation": "validation"``.

A run folder holds::

    config.toml        resolved config (every default filled in)
    metrics.csv        one row per epoch (accuracies as fractions: *_accuracy_fraction)
    weights.npz        final learnable state (weights, biases, feedback matrices, optimizer)
    versions.json      package, Brian2, NumPy and Python versions, device, command
    summary.json       final and best test accuracy (fractions), wall time
    learning_curve.png

The folder is written as ``<out>.partial`` and renamed at the end, so an
interrupted run never leaves a half-written folder where a finished one was.
After every epoch ``<out>.partial/checkpoint.npz`` holds everything needed to
continue (learnable state, the shuffling generator's state, the metrics so
far), written atomically; ``bioopzo train --resume OUT`` continues from the
last complete epoch and ends with the same weights, bit for bit, as a run
that was never interrupted (per-epoch seeds derive from the run's seed).
A run whose weights, feedback matrices or loss become NaN or infinite stops
with an error naming the epoch and the layer, and keeps its last good
checkpoint. The run-folder, checkpoint and atomic-write helpers are in
:mod:`bioopzo.runs`.

:func:`run_samples` runs given samples through a network with given learnable
state, as test samples (learning and noise off) or as one training epoch, and
records hidden spikes and per-step variables; :func:`evaluate` (a run's test
accuracy) and :func:`simulate` (spike rasters) are built on it.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bioopzo.config import ExperimentConfig, feedback_momentum_warning, load_config
from bioopzo.data import check_labels, load_dataset
from bioopzo.errors import ConfigError
from bioopzo.options import fraction_column, fraction_columns
from bioopzo.devices import epoch_seed, make_simulator
from bioopzo.runs import (CHECKPOINT, RunFolderError, check_out_folder, load_checkpoint, load_run,
                          partial_folder, swap_in_folder, versions, write_checkpoint,
                          write_csv_atomic)
from bioopzo.data.epochs import make_epoch_data
from bioopzo.state import initial_state
from bioopzo.updates import learning_rate_factors

__all__ = ["train", "resume", "evaluate", "simulate", "run_samples", "SampleRun", "TrainingResult",
           "TrainingDiverged", "evaluation_seed", "checked_dataset", "check_run_state"]

log = logging.getLogger("bioopzo.train")

class TrainingDiverged(FloatingPointError):
    """Learnable state or loss became NaN or infinite."""


def evaluation_seed(seed: int, epoch: int) -> int:
    """The seed of the test (evaluation) runs of epoch ``epoch`` of a run seeded ``seed``."""
    return int(np.random.SeedSequence([seed, epoch, 4057]).generate_state(1)[0] % (2**31 - 1))


def _split_sizes(config: ExperimentConfig, seed: int) -> tuple[int, int]:
    dataset = load_dataset(config.data, seed)
    return len(dataset.y_train), len(dataset.y_test)


def checked_dataset(config: ExperimentConfig, seed: int | None = None):
    """``config``'s data set, refused (ConfigError naming the smallest ``--limit`` that
    works) when its ``limit`` leaves the training or the evaluation split empty."""
    seed = config.training.seed if seed is None else seed
    dataset = load_dataset(config.data, seed)
    if len(dataset.y_train) and len(dataset.y_test):
        return dataset
    limit = config.data.limit
    smallest = ""
    if limit is not None:   # the splits grow with the limit: bisect for the first that works
        lo, hi = limit, 2 * limit + 64
        while 0 in _split_sizes(config.with_overrides({"data": {"limit": hi}}), seed) and hi < 10**6:
            lo, hi = hi, 2 * hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if 0 in _split_sizes(config.with_overrides({"data": {"limit": mid}}), seed):
                lo = mid
            else:
                hi = mid
        smallest = f" to at least {hi}"
    split = "training" if not len(dataset.y_train) else dataset.evaluation
    raise ConfigError(
        f"{config.data.dataset}: the {split} split is empty ({len(dataset.y_train)} training, "
        f"{len(dataset.y_test)} {dataset.evaluation} samples with [data] limit {limit}); raise "
        f"--limit{smallest} so that both splits get samples")


def check_run_state(config: ExperimentConfig, state: dict, n_inputs: int, n_classes: int,
                    source: str = "weights.npz") -> None:
    """Refuse learnable ``state`` (read from ``source``) that lacks an array ``config``'s
    network needs or holds one of the wrong shape, naming the array and its shape."""
    expected = initial_state(config, n_inputs, n_classes, config.training.seed)
    for name, value in expected.items():
        if name not in state:
            raise ConfigError(f"{source} lacks {name} ({_describe(name)}, shape "
                              f"{tuple(value.shape)}); pass the weights.npz of a finished run "
                              f"of this config")
        shape = tuple(np.shape(state[name]))
        if shape != tuple(value.shape):
            raise ConfigError(f"{source}: {name} ({_describe(name)}) has shape {shape}, the "
                              f"run's config needs {tuple(value.shape)}; pass the weights.npz "
                              f"that belongs to this config.toml")


@dataclass
class TrainingResult:
    run_dir: Path
    config: ExperimentConfig
    metrics: list = field(default_factory=list)
    state: dict = field(default_factory=dict)

    @property
    def test_accuracy(self) -> float:
        return float(self.metrics[-1]["test_accuracy"])


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
    objects) is removed at the end unless ``keep_build``. If the run stops
    after at least one epoch (an error, divergence, a kill), ``<out>.partial``
    keeps its last checkpoint for :func:`resume`.
    """
    out = Path(out)
    check_out_folder(out, overwrite)
    partial = partial_folder(out)
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    return _run(config, out, None, progress=progress, echo=echo, record_spikes=record_spikes,
                keep_build=keep_build)


def resume(run_dir: str | Path, *, progress: bool = True, echo=print,
           keep_build: bool = False) -> TrainingResult:
    """Continue an interrupted run (``OUT`` or ``OUT.partial``) from its last
    complete epoch, with the config it was started with."""
    run_dir = Path(run_dir)
    out = run_dir.with_name(run_dir.name[: -len(".partial")]) if run_dir.name.endswith(".partial") \
        else run_dir
    partial = partial_folder(out)
    if not partial.is_dir():
        if (out / "summary.json").exists():
            raise RunFolderError(f"{str(out)!r} is a finished run; there is nothing to resume")
        raise RunFolderError(
            f"no interrupted run at {str(partial)!r}; --resume takes the --out folder of a "
            "`bioopzo train` that stopped before finishing"
        )
    if not (partial / "config.toml").is_file():
        raise RunFolderError(f"{str(partial)!r} has no config.toml; it cannot be resumed, "
                             "start the run again")
    config = load_config(partial / "config.toml")
    checkpoint = load_checkpoint(partial) if (partial / CHECKPOINT).exists() else None
    if checkpoint is None:
        echo(f"{partial} has no checkpoint (no epoch finished): starting from epoch 1")
    else:
        echo(f"resuming {out} after epoch {checkpoint['epoch']} of {config.training.epochs}")
    return _run(config, out, checkpoint, progress=progress, echo=echo, record_spikes=False,
                keep_build=keep_build)


def _run(config, out: Path, checkpoint, *, progress, echo, record_spikes, keep_build):
    partial = partial_folder(out)
    try:
        result = _train_into(config, partial, checkpoint, progress=progress, echo=echo,
                             record_spikes=record_spikes)
    except BaseException:
        if not (partial / CHECKPOINT).exists():
            shutil.rmtree(partial, ignore_errors=True)
        raise
    if not keep_build:
        shutil.rmtree(partial / "brian_build", ignore_errors=True)
    (partial / CHECKPOINT).unlink(missing_ok=True)   # the finished run's files hold it all
    swap_in_folder(partial, out)   # an old run is only removed once the new one is complete
    result.run_dir = out
    return result


def _train_into(config, run_dir: Path, checkpoint, *, progress, echo, record_spikes) -> TrainingResult:
    from tqdm import tqdm

    t_start = time.perf_counter()
    cfg = config
    seed = cfg.training.seed
    info = versions(cfg)
    if checkpoint is None:
        (run_dir / "config.toml").write_text(cfg.to_toml())
    else:
        info["resumed_after_epoch"] = checkpoint["epoch"]
        previous = run_dir / "versions.json"
        if previous.exists():
            info["earlier_sessions"] = [json.loads(previous.read_text())]
    (run_dir / "versions.json").write_text(json.dumps(info, indent=2) + "\n")
    dataset = checked_dataset(cfg, seed)
    check_labels(dataset.y_train, dataset.n_classes, "training labels")
    check_labels(dataset.y_test, dataset.n_classes, "test labels")
    rng = np.random.default_rng([seed, 23])
    if checkpoint is None:
        state = initial_state(cfg, dataset.n_inputs, dataset.n_classes, seed)
        rows: list[dict] = []
        first = 1
    else:
        state, rows = checkpoint["state"], list(checkpoint["metrics"])
        rng.bit_generator.state = checkpoint["rng_state"]
        first = checkpoint["epoch"] + 1
    T = cfg.data.steps_per_sample
    sim = make_simulator(cfg, dataset.n_inputs, dataset.n_classes, run_dir / "brian_build",
                         record_spikes=record_spikes)
    if progress:
        sim.progress = echo   # "compiling the network ..." / "using the cached build ..."
    echo(f"training {cfg.name}: rule {cfg.rule.name}, {dataset.n_inputs}-"
         f"{'-'.join(map(str, cfg.network.hidden))}-{dataset.n_classes}, "
         f"{len(dataset.y_train)} train / {len(dataset.y_test)} {dataset.evaluation} samples of {T} steps, "
         f"device {cfg.device.name}")
    # with a validation split, the "test" columns hold validation accuracy (summary: evaluation)
    evaluated = "test" if dataset.evaluation == "test" else "val"
    warning = feedback_momentum_warning(cfg)
    if warning:
        echo(f"bioopzo: warning: {warning}")
    bar = tqdm(range(first, cfg.training.epochs + 1), desc="epochs", unit="epoch",
               disable=not progress, file=sys.stderr, leave=False)
    with sim:
        for epoch in bar:
            t0 = time.perf_counter()
            order = rng.permutation(len(dataset.y_train))
            factors = learning_rate_factors(cfg.optimizer, epoch, cfg.training.epochs, len(order))
            data = make_epoch_data(dataset.x_train, dataset.y_train, dataset.x_test,
                                   dataset.y_test[:0], cfg.optimizer.samples_per_update, order,
                                   factors)
            res = sim.run_epoch(data, state, epoch_seed(seed, epoch))
            _check_finite(res.state, res.loss, epoch, run_dir)
            state = res.state
            test_seed = evaluation_seed(seed, epoch)
            test_data = _test_data(dataset.x_test, dataset.y_test)
            test = sim.run_epoch(test_data, state, test_seed)
            _check_finite(test.state, test.loss, epoch, run_dir)
            train_metrics = _epoch_metrics(res.o_sum, res.loss, data, T)
            test_metrics = _epoch_metrics(test.o_sum, test.loss, test_data, T)
            row = {"epoch": epoch, "train_loss": train_metrics["train_loss"],
                   "train_accuracy": train_metrics["train_accuracy"],
                   "test_loss": test_metrics["test_loss"],
                   "test_accuracy": test_metrics["test_accuracy"]}
            wall = time.perf_counter() - t0
            row.update({
                "epoch_seconds": wall,
                "simulation_seconds": res.simulation_time + test.simulation_time,
                "outside_simulation_seconds": wall - res.simulation_time - test.simulation_time,
                "network_run_seconds": res.network_time + test.network_time,
                "simulation_runs": res.n_runs + test.n_runs,
                "compiled": int(res.compiled or test.compiled),
                "evaluation_seed": test_seed,
            })
            res.compiled = res.compiled or test.compiled
            res.spike_counts = [a + b for a, b in zip(res.spike_counts, test.spike_counts)]
            steps = (data.n_samples + test_data.n_samples) * T
            for l, counts in enumerate(res.spike_counts, start=1):
                row[f"rate_hidden{l}"] = float(np.sum(counts)) / (len(counts) * steps)
            rows.append(row)
            write_csv_atomic(run_dir / "metrics.csv", [fraction_columns(r) for r in rows])
            write_checkpoint(run_dir, epoch, state, rng, rows)
            note = " (compiled)" if res.compiled else ""
            line = (f"epoch {epoch:>3}  train loss {row['train_loss']:.4f}  "
                    f"train acc {100 * row['train_accuracy']:5.1f} %  "
                    f"{evaluated} acc {100 * row['test_accuracy']:5.1f} %  {wall:6.1f} s{note}")
            if progress:
                bar.write(line, file=sys.stdout)
            else:   # an epoch's line is a result, not progress: --quiet keeps it
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
        "evaluation": dataset.evaluation,
        "wall_seconds": time.perf_counter() - t_start,
        "n_builds": sim.n_builds,
        # what `bioopzo evaluate` replays: the last epoch's test seed and the run size
        "evaluation_seed": rows[-1]["evaluation_seed"],
        "samples_per_run": sim.samples_per_run,
    }
    if checkpoint is not None:
        summary["resumed_after_epoch"] = checkpoint["epoch"]
    (run_dir / "summary.json").write_text(json.dumps(fraction_columns(summary), indent=2) + "\n")
    _plot_learning_curve(rows, run_dir / "learning_curve.png", cfg)
    return TrainingResult(run_dir, cfg, rows, state)


def _describe(name: str) -> str:
    """What a learnable-state entry is, in words (``W2`` -> hidden layer 2 weights)."""
    import re

    base, _, suffix = name.partition("_")
    extra = {"acc": " (accumulated gradient)", "vel": " (momentum)",
             "weight": " (weight of its average)"}.get(suffix, "")
    if base in ("Wout", "bout"):
        return f"{name}: readout {'weights' if base == 'Wout' else 'biases'}{extra}"
    if base == "loss":
        return f"{name}: readout loss baseline"
    match = re.fullmatch(r"([WbMB])(\d+)", base)
    if match:
        kind = {"W": "weights into", "b": "biases of", "M": "feedback matrix of",
                "B": "feedback matrix of"}[match.group(1)]
        return f"{name}: {kind} hidden layer {match.group(2)}{extra}"
    return name


def _check_finite(state: dict, loss: np.ndarray, epoch: int, run_dir: Path | None = None) -> None:
    """Stop on NaN or infinite state or loss, naming the epoch and the layer."""
    bad = [_describe(k) for k, v in state.items() if not np.all(np.isfinite(v))]
    if not np.all(np.isfinite(loss)):
        bad.append("the loss")
    if bad:
        kept = ""
        if run_dir is not None and (run_dir / CHECKPOINT).exists():
            kept = (f"; the last good checkpoint (after epoch {epoch - 1}) is kept in {run_dir}")
        raise TrainingDiverged(
            f"training diverged in epoch {epoch}: {'; '.join(bad)} became NaN or infinite. "
            f"Lower the learning rate or the noise scale{kept}"
        )


def _plot_learning_curve(rows, path: Path, cfg) -> None:
    from matplotlib.figure import Figure   # no pyplot: leaves the user's backend alone

    from bioopzo.plots import learning_curve

    fig = Figure(figsize=(8, 3.2))
    learning_curve(rows, f"{cfg.name}: {cfg.rule.name}, seed {cfg.training.seed}",
                   axes=fig.subplots(1, 2))
    fig.savefig(path, dpi=120)


@dataclass
class SampleRun:
    """What :func:`run_samples` returns.

    ``data``: the samples as the simulator streamed them; ``result``: the simulator's
    epoch result (per-sample readout sums ``o_sum`` and losses, learnable state after
    the run); ``spikes``: per hidden layer, the (time step, neuron index) arrays of
    its spikes (empty unless ``record_spikes``); ``recorded``: per recorded
    ``(group, variable)``, its (time steps, neurons) array."""

    data: object
    result: object
    spikes: list = field(default_factory=list)
    recorded: dict = field(default_factory=dict)


def run_samples(config: ExperimentConfig, state: dict, inputs, labels, *, seed: int = 0,
                learning: bool = False, record_spikes: bool = False, record_states: tuple = (),
                build_dir: str | Path | None = None) -> SampleRun:
    """Run samples (intensities, frames or a frame source) through the network with
    learnable state ``state`` on ``config.device`` and record what was asked for.

    ``learning=False``: the samples are test samples (learning and noise off).
    ``learning=True``: they are one training epoch in the given order (noise on,
    weights, biases and feedback matrices updated at every update event). With
    ``record_spikes`` every hidden spike is recorded; ``record_states`` names
    ``(group, variable)`` pairs (``("hidden1", "psi")``) recorded at every step. Any
    recording streams all samples in one simulation run; the recordings are read
    before the device is released."""
    import tempfile

    if isinstance(inputs, (list, tuple)):
        inputs = np.asarray(inputs, float)
    labels = check_labels(labels, state["Wout"].shape[0], "labels")
    if learning:
        data = make_epoch_data(inputs, labels, inputs[:0], labels[:0],
                               config.optimizer.samples_per_update)
    else:
        data = _test_data(inputs, labels)
    recording = {}
    if record_spikes or record_states:   # one simulation run holds every sample's recording
        recording = {"record_spikes": record_spikes, "record_states": tuple(record_states)}
        config = config.with_overrides({"training": {"samples_per_run": max(len(labels), 1),
                                                     "max_run_input_mb": 1e9}})
    with tempfile.TemporaryDirectory(prefix="bioopzo-eval-") as tmp:
        sim = make_simulator(config, inputs.shape[-1], state["Wout"].shape[0],
                             build_dir or Path(tmp) / "build", **recording)
        with sim:
            res = sim.run_epoch(data, state, seed)
            run = SampleRun(data, res)
            if recording:
                run.spikes, run.recorded = _read_monitors(sim.network, config.neuron.dt)
    return run


def _test_data(inputs, labels):
    """Test samples as a simulation streams them: learning and noise off, in order."""
    return make_epoch_data(inputs, labels[:0], inputs, labels, 1, order=np.arange(0))


def _read_monitors(net, dt) -> tuple[list, dict]:
    """Spikes (step, index) per hidden layer and recorded (steps, neurons) variables."""
    n_steps = net.n_samples * net.steps
    spikes = []
    for mon in net.spike_monitors:
        step, index = np.round(np.asarray(mon.t[:] / dt)).astype(int), np.asarray(mon.i[:])
        keep = step < n_steps      # drop the inert final step of accumulated schedules
        spikes.append((step[keep], index[keep]))
    states = {key: net.recorded(*key).T for key in net.state_monitors}
    return spikes, states


def evaluate(run_dir: str | Path, *, device: str | None = None, build_dir: str | Path | None = None
             ) -> dict:
    """Reload a run's weights and measure test accuracy with learning off.

    The test samples are streamed as the run's last epoch streamed them: from the
    ``evaluation_seed`` and in runs of ``samples_per_run`` samples that summary.json
    records, so that on the run's device the accuracy is the one the run recorded
    (``"replayed": True``). Older runs without that record, or another ``device``,
    give an accuracy that agrees only statistically for rate-coded inputs."""
    run_dir = Path(run_dir)
    config, state = load_run(run_dir)
    trained_on = config.device.name
    if device is not None:
        config = config.with_overrides({"device": {"name": device}})
    summary = {}
    if (run_dir / "summary.json").is_file():
        try:
            summary = json.loads((run_dir / "summary.json").read_text())
        except (ValueError, UnicodeDecodeError):
            raise RunFolderError(f"{run_dir / 'summary.json'} cannot be read; pass the folder "
                                 "of a finished run") from None
    seed = config.training.seed
    test_seed = summary.get("evaluation_seed", evaluation_seed(seed, config.training.epochs))
    if summary.get("samples_per_run"):
        config = config.with_overrides({"training": {"samples_per_run": summary["samples_per_run"]}})
    dataset = checked_dataset(config, seed)
    check_run_state(config, state, dataset.n_inputs, dataset.n_classes,
                    str(run_dir / "weights.npz"))
    run = run_samples(config, state, dataset.x_test, dataset.y_test, seed=int(test_seed),
                      build_dir=build_dir)
    metrics = _epoch_metrics(run.result.o_sum, run.result.loss, run.data,
                             config.data.steps_per_sample)
    return {"test_accuracy": metrics["test_accuracy"], "test_loss": metrics["test_loss"],
            "n_test": int(len(dataset.y_test)), "device": config.device.name,
            "evaluation_seed": int(test_seed),
            "recorded_test_accuracy": summary.get(fraction_column("final_test_accuracy"),
                                                  summary.get("final_test_accuracy")),
            "replayed": "evaluation_seed" in summary and config.device.name == trained_on}


def simulate(config: ExperimentConfig, state: dict, inputs: np.ndarray, labels: np.ndarray,
             *, device: str = "runtime", seed: int = 0, record_states: tuple = ()) -> dict:
    """Run samples through a trained network with learning off and record every spike.

    Returns per-sample readout sums and predictions, and for each hidden layer
    the (step, neuron) indices of its spikes: what notebooks plot as rasters.
    """
    config = config.with_overrides({"device": {"name": device}})
    run = run_samples(config, state, inputs, labels, seed=seed, record_spikes=True,
                      record_states=record_states)
    return {"o_sum": run.result.o_sum, "predictions": np.argmax(run.result.o_sum, axis=1),
            "spikes": run.spikes, "recorded": run.recorded}
