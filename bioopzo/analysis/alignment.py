"""Analysis 2: alignment of each rule's weight update with the BP gradient over
training, per hidden layer.

An OPZO network and a DFA network are trained (reference.py, batch 1, the
Brian2 model's algorithm) from the same config and seed. At checkpoints, with
the state frozen, each probe sample's summed update G_l of the trained rule
(opzo: psi (M_l e) a^T; dfa: psi (B_l e) a^T; for the OPZO run also pzo, the
momentum-free z o~^T estimate) is compared with the BP gradient G_l,bp of the
same forward pass:

    cos_l = <G_l, G_l,bp> / (||G_l|| ||G_l,bp||)   per sample,

reported per epoch as mean and sd over probe samples (two noise draws each) and
checkpoints. Cosines are scale-free, so the 1/alpha and B's scale do not matter.
"""

from __future__ import annotations

import time

import numpy as np

from bioopzo.analysis.estimators import estimator_statistics
from bioopzo.analysis.output import REFERENCE_IMPLEMENTATION, AnalysisResult, new_figure, record
from bioopzo.analysis.training import probe_set, train_reference

__all__ = ["run", "AlignmentResult", "per_epoch"]

COLORS = {"opzo": "tab:blue", "pzo": "tab:orange", "dfa": "tab:green"}


def per_epoch(rows: list[dict]) -> list[dict]:
    """Mean and spread of the cosine per run, estimator, layer and epoch."""
    out = []
    keys = sorted({(r["run"], r["estimator"], r["layer"], r["epoch"]) for r in rows})
    for run, est, layer, epoch in keys:
        sel = [r for r in rows if (r["run"], r["estimator"], r["layer"], r["epoch"]) ==
               (run, est, layer, epoch)]
        mean = float(np.mean([r["cosine_mean"] for r in sel]))
        # pooled sd over checkpoints: within-checkpoint variance + between-checkpoint variance
        var = np.mean([r["cosine_sd"] ** 2 for r in sel]) + np.var([r["cosine_mean"] for r in sel])
        out.append({"run": run, "estimator": est, "layer": layer, "epoch": epoch,
                    "cosine_mean": mean, "cosine_sd": float(np.sqrt(var))})
    return out


class AlignmentResult(AnalysisResult):
    name = "gradient_alignment"

    def epochs(self):
        return per_epoch(self.rows)

    def final(self, estimator: str, layer: int) -> dict:
        sel = [r for r in self.epochs() if r["estimator"] == estimator and r["layer"] == layer]
        return max(sel, key=lambda r: r["epoch"])

    def headline(self) -> list[str]:
        ep = self.epochs()
        last = max(r["epoch"] for r in ep)
        lines = [f"cosine(update, BP gradient) in epoch {last}, mean ± sd over probe samples "
                 f"(implementation: reference.py)"]
        for r in ep:
            if r["epoch"] == last:
                lines.append(f"  {r['estimator']:5s} ({r['run']} run) layer {r['layer']}: "
                             f"{r['cosine_mean']:.3f} ± {r['cosine_sd']:.3f}")
        return lines

    def figure(self):
        layers = sorted({r["layer"] for r in self.rows})
        fig, axes = new_figure(len(layers))
        for ax, l in zip(axes, layers):
            for est in COLORS:
                sel = [r for r in self.rows if r["estimator"] == est and r["layer"] == l]
                if not sel:
                    continue
                t = np.array([r["epoch"] - 1 + r["fraction"] for r in sel])
                mu = np.array([r["cosine_mean"] for r in sel])
                sd = np.array([r["cosine_sd"] for r in sel])
                ax.plot(t, mu, "o-", color=COLORS[est], label=f"{est} ({sel[0]['run']} run)")
                ax.fill_between(t, mu - sd, mu + sd, color=COLORS[est], alpha=0.2)
            ax.axhline(0, color="k", lw=0.6)
            ax.set_ylim(-0.2, 1)
            ax.set_xlabel("epoch")
            ax.set_ylabel("cosine with BP gradient")
            ax.set_title(f"hidden layer {l}")
        axes[0].legend(fontsize=8)
        fig.suptitle("Alignment with the BP gradient on digits (reference.py; mean ± sd)")
        return fig


def run(config, *, probe_samples: int = 100, checkpoints_per_epoch: int = 4,
        echo=print) -> AlignmentResult:
    """Train OPZO and DFA networks from ``config`` and probe their alignment with BP."""
    t0 = time.perf_counter()
    ds, x_probe, y_probe = probe_set(config, probe_samples, 43)
    rows: list[dict] = []
    configs = {}
    for rule, estimators in (("opzo", ("opzo", "pzo")), ("dfa", ("dfa",))):
        cfg = config.with_overrides({"rule": {"name": rule}})
        configs[rule] = cfg.to_dict()

        def probe(model, epoch, fraction, rule=rule, estimators=estimators):
            for s in estimator_statistics(model, x_probe, y_probe, estimators):
                if s.rule == "bp":
                    continue
                rows.append({"run": rule, "estimator": s.rule, "layer": s.layer, "epoch": epoch,
                             "fraction": round(fraction, 4), "cosine_mean": s.cosine_mean,
                             "cosine_sd": s.cosine_sd, "probe_samples": s.n_samples,
                             "implementation": "reference.py"})
            if echo:
                cur = [r for r in rows if r["run"] == rule and r["epoch"] == epoch
                       and r["fraction"] == round(fraction, 4)]
                echo(f"  {rule} run, epoch {epoch - 1 + fraction:.2f}: " + ", ".join(
                    f"{r['estimator']}{r['layer']} {r['cosine_mean']:.3f}" for r in cur))

        trained = train_reference(cfg, checkpoints_per_epoch=checkpoints_per_epoch, on_checkpoint=probe)
        if echo:
            echo(f"  {rule} run: test accuracy {100 * trained.final_accuracy:.1f} %")
        configs[rule + "_test_accuracy"] = trained.final_accuracy
    meta = record(configs, {"probe_samples": probe_samples,
                            "checkpoints_per_epoch": checkpoints_per_epoch},
                  REFERENCE_IMPLEMENTATION, time.perf_counter() - t0)
    meta["per_epoch"] = per_epoch(rows)
    return AlignmentResult(rows, meta)
