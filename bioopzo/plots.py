"""Figures: learning curves and spike rasters (matplotlib, Agg-safe)."""

from __future__ import annotations

import numpy as np

__all__ = ["learning_curve", "spike_raster"]


def learning_curve(rows: list[dict], title: str = "", axes=None):
    """Loss and accuracy per epoch from a run's metrics rows; returns the figure."""
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    else:
        fig = axes[0].figure
    ax1, ax2 = axes
    epochs = [int(r["epoch"]) for r in rows]
    ax1.plot(epochs, [float(r["train_loss"]) for r in rows], "o-", label="train")
    ax1.plot(epochs, [float(r["test_loss"]) for r in rows], "s-", label="test")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss per step")
    ax1.legend()
    ax2.plot(epochs, [100 * float(r["train_accuracy"]) for r in rows], "o-", label="train (online)")
    ax2.plot(epochs, [100 * float(r["test_accuracy"]) for r in rows], "s-", label="test")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy (%)")
    ax2.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def spike_raster(spikes: list[tuple[np.ndarray, np.ndarray]], names: list[str],
                 steps_per_sample: int, labels=None, ax=None):
    """Raster of several layers stacked vertically.

    ``spikes`` holds (step indices, neuron indices) per layer; sample
    boundaries are drawn every ``steps_per_sample`` steps.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4))
    offset = 0
    ticks = []
    for (steps, neurons), name in zip(spikes, names):
        n = int(neurons.max()) + 1 if len(neurons) else 1
        ax.plot(steps, neurons + offset, "|", markersize=2)
        ticks.append((offset + n / 2, name))
        offset += n + 5
    last = max((int(s.max()) for s, _ in spikes if len(s)), default=0)
    for b in range(0, last + 2, steps_per_sample):
        ax.axvline(b - 0.5, color="0.8", lw=0.5, zorder=0)
    if labels is not None:
        for k, lab in enumerate(labels):
            ax.text(k * steps_per_sample + steps_per_sample / 2, offset, str(lab), ha="center",
                    va="bottom")
    ax.set_yticks([t for t, _ in ticks], [n for _, n in ticks])
    ax.set_xlabel("step")
    return ax.figure
