"""Analysis 1: variance of the gradient estimates per layer during training
(Xiao et al., Prop. 4.1 and Fig. 2).

An OPZO network is trained on digits with reference.py (batch 1, the Brian2
model's algorithm). At checkpoints, with the state frozen, every probe sample
is run twice with independent noise through one forward pass per draw, and each
estimator's per-sample weight gradient G_l (see :mod:`bioopzo.analysis.estimators`:
bp, zo, pzo = z o~^T without momentum, opzo = the run's momentum M_l, dfa) is
summarised per hidden layer l by

    Var_l(rule)   = E||G_l - E G_l||^2           (over samples and noise)
    D_l(rule)     = E||G_l - G_l,bp||^2          (same forward pass)
    ratio_l(rule) = Var_l(rule) / Var_l(bp)

Prop. 4.1's claim: single-point ZO is orders of magnitude above BP (by about
the number of perturbed dimensions), pseudo-ZO with momentum of BP's order.
"""

from __future__ import annotations

import time

import numpy as np

from bioopzo.analysis.estimators import ESTIMATORS, estimator_statistics
from bioopzo.analysis.output import REFERENCE_IMPLEMENTATION, AnalysisResult, new_figure, record
from bioopzo.analysis.training import probe_set, train_reference
from bioopzo.options import plural

__all__ = ["run", "VarianceResult"]

COLORS = {"bp": "k", "zo": "tab:red", "pzo": "tab:orange", "opzo": "tab:blue", "dfa": "tab:green"}


class VarianceResult(AnalysisResult):
    name = "gradient_variance"

    def final(self):
        last = max((r["epoch"], r["fraction"]) for r in self.rows)
        return [r for r in self.rows if (r["epoch"], r["fraction"]) == last]

    def ratio(self, rule: str, layer: int, key: str = "variance_ratio_to_bp") -> float:
        """Geometric mean over checkpoints of ``key`` for one rule and layer."""
        vals = [r[key] for r in self.rows if r["rule"] == rule and r["layer"] == layer]
        return float(np.exp(np.mean(np.log(vals))))

    def headline(self) -> list[str]:
        layers = sorted({r["layer"] for r in self.rows})
        rules = [r for r in ESTIMATORS if any(x["rule"] == r for x in self.rows) and r != "bp"]
        lines = [f"gradient-estimate variance / BP's variance (geometric mean over "
                 f"{len({(r['epoch'], r['fraction']) for r in self.rows})} checkpoints; "
                 f"implementation: reference.py)"]
        for l in layers:
            parts = [f"{r} {self.ratio(r, l):.3g}" for r in rules]
            lines.append(f"  layer {l}: " + ", ".join(parts))
        for l in layers:
            parts = [f"{r} {self.ratio(r, l, 'distance_ratio_to_bp_norm'):.3g}" for r in rules]
            lines.append(f"  layer {l} E||G - G_bp||^2 / ||E G_bp||^2: " + ", ".join(parts))
        return lines

    def figure(self):
        layers = sorted({r["layer"] for r in self.rows})
        fig, axes = new_figure(len(layers) + 1)
        rules = [r for r in ESTIMATORS if any(x["rule"] == r for x in self.rows)]
        for ax, l in zip(axes, layers):
            for rule in rules:
                sel = [r for r in self.rows if r["rule"] == rule and r["layer"] == l]
                t = [r["epoch"] - 1 + r["fraction"] for r in sel]
                ax.semilogy(t, [r["variance"] for r in sel], "o-", color=COLORS[rule], label=rule)
            ax.set_title(f"hidden layer {l}: Var of G_l")
            ax.set_xlabel("epoch")
            ax.set_ylabel("E||G - E G||^2")
        axes[0].legend(fontsize=8)
        ax = axes[-1]
        width = 0.8 / len(layers)
        others = [r for r in rules if r != "bp"]
        for i, l in enumerate(layers):
            ax.bar(np.arange(len(others)) + i * width, [self.ratio(r, l) for r in others], width,
                   label=f"layer {l}")
        ax.set_yscale("log")
        ax.axhline(1, color="k", lw=0.8)
        ax.set_xticks(np.arange(len(others)) + width * (len(layers) - 1) / 2, others)
        ax.set_title("variance / BP variance")
        ax.legend(fontsize=8)
        fig.suptitle("Gradient-estimate variance on digits (reference.py)")
        return fig


def run(config, *, probe_samples: int = 100, checkpoints_per_epoch: int = 2,
        estimators=ESTIMATORS, echo=print) -> VarianceResult:
    """Train ``config`` (an OPZO config) with checkpoints; summarise every estimator."""
    if config.rule.name != "opzo":
        raise ValueError("the variance analysis trains an OPZO network (its M_l is the opzo estimate)")
    t0 = time.perf_counter()
    ds, x_probe, y_probe = probe_set(config, probe_samples, 41)
    rows: list[dict] = []
    if echo:
        echo(f"training OPZO for {plural(config.training.epochs, 'epoch')}, probing "
             f"{plural(len(y_probe), 'sample')} {plural(checkpoints_per_epoch, 'time')} per epoch...")

    def probe(model, epoch, fraction):
        stats = estimator_statistics(model, x_probe, y_probe, estimators)
        bp = {s.layer: s for s in stats if s.rule == "bp"}
        for s in stats:
            rows.append({"epoch": epoch, "fraction": round(fraction, 4), "rule": s.rule,
                         "layer": s.layer, "variance": s.variance,
                         "noise_variance": s.noise_variance, "distance_to_bp": s.distance_bp,
                         "cosine_to_bp_mean": s.cosine_mean, "cosine_to_bp_sd": s.cosine_sd,
                         "mean_norm2": s.mean_norm2, "bp_mean_norm2": s.bp_norm2,
                         "variance_ratio_to_bp": s.variance / bp[s.layer].variance,
                         "distance_ratio_to_bp_norm": s.distance_bp / s.bp_norm2,
                         "probe_samples": s.n_samples, "implementation": "reference.py"})
        if echo:
            echo(f"  epoch {epoch - 1 + fraction:.2f}: " + ", ".join(
                f"{s.rule}{s.layer} {s.variance / bp[s.layer].variance:.3g}"
                for s in stats if s.rule != "bp"))

    trained = train_reference(config, checkpoints_per_epoch=checkpoints_per_epoch,
                              on_checkpoint=probe)
    meta = record({"opzo": config.to_dict()},
                  {"probe_samples": probe_samples, "checkpoints_per_epoch": checkpoints_per_epoch,
                   "estimators": list(estimators)},
                  REFERENCE_IMPLEMENTATION, time.perf_counter() - t0)
    meta["training"] = trained.summary()
    return VarianceResult(rows, meta)
