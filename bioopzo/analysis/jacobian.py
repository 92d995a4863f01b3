"""Analysis 3: how well OPZO's feedback matrices M_l estimate the data-averaged
same-step Jacobian, over training, for several momentum coefficients rho and
noise scales alpha; and the bias of that average (Prop. 4.3).

OPZO networks are run (reference.py, batch 1, the Brian2 model's algorithm)
with M_l <- rho M_l + (1 - rho) z_l o~^T. By default the forward weights are
frozen (learning rate 0, as in tests/analysis/test_jacobian.py), so only M_l learns and
the target is fixed; with ``learn=True`` the network trains as configured and
the target is re-estimated at every checkpoint. Every probe sample x is run R
times with independent noise (draws r = 1..R) and its same-step Jacobian
J_l(x) = mean_t z_l (o~ - o~|z_l=0)^T / alpha is estimated
(:func:`bioopzo.analysis.estimators.probe_pass`). One draw is very noisy (a
membrane-noise sample changes the readout only where it flips a spike), so the
squared norms are estimated from products of independent draws, which removes
the estimation noise: with Jbar^r the mean over samples of draw r and Jbar the
mean over all,

    ||J_l||^2    ~ mean_{r != s} <Jbar^r, Jbar^s>
    cos_l        = <M_l, Jbar> / (||M_l|| ||J_l||)
    spread_l     = mean_x mean_{r != s} <J^r(x), J^s(x)> / ||J_l||^2 - 1
                 ~ E_x ||J_l(x) - E_x J_l(x)||^2 / ||E_x J_l(x)||^2

spread is the relative variance of the per-sample Jacobians around their data
average: the bias OPZO accepts by using one matrix for all inputs (Prop. 4.3
asks it to be small against the gradient). Both are ratio estimates and can
stray slightly outside their ranges (cos above 1) when the probe is small.
"""

from __future__ import annotations

import time

import numpy as np

from bioopzo.analysis.estimators import probe_pass
from bioopzo.analysis.output import REFERENCE_IMPLEMENTATION, AnalysisResult, new_figure, record
from bioopzo.analysis.training import probe_set, train_reference
from bioopzo.config import feedback_samples
from bioopzo.rules.opzo import OPZORule

__all__ = ["run", "JacobianResult", "jacobian_target", "feedback_cosine"]


def jacobian_target(model, inputs, labels, draws: int = 4, chunk: int = 25) -> list[dict]:
    """Per hidden layer: the data-averaged Jacobian ``jbar`` (n_l x m), its
    noise-corrected squared norm ``norm2`` and the relative ``spread``."""
    if draws < 2:
        raise ValueError("the Jacobian target needs at least 2 independent noise draws")
    L = len(model.config.network.hidden)
    sums = [[0.0] * draws for _ in range(L)]           # per draw: sum over samples of J^r(x)
    cross = [0.0] * L                                   # sum_x sum_{r != s} <J^r(x), J^s(x)>
    N = len(labels)
    for start in range(0, N, chunk):
        rows = slice(start, start + chunk)
        res = [probe_pass(model, inputs[rows], labels[rows], (), jacobian=True).jacobians
               for _ in range(draws)]
        for l in range(L):
            per = [res[r][l] for r in range(draws)]
            total = sum(per)
            cross[l] += float(np.sum(total * total) - sum(np.sum(p * p) for p in per))
            for r in range(draws):
                sums[l][r] = sums[l][r] + per[r].sum(axis=0)
    out = []
    pairs = draws * (draws - 1)
    for l in range(L):
        means = [s / N for s in sums[l]]
        tot = sum(means)
        norm2 = float((np.sum(tot * tot) - sum(np.sum(mm * mm) for mm in means)) / pairs)
        per_sample = cross[l] / (N * pairs)
        out.append({"layer": l + 1, "jbar": tot / draws, "norm2": norm2,
                    "spread": per_sample / norm2 - 1 if norm2 > 0 else float("nan")})
    return out


def feedback_cosine(M: np.ndarray, target: dict) -> float:
    """cos(M_l, J_l) with the noise-corrected norm of the target."""
    nm = np.linalg.norm(M)
    if nm == 0 or not target["norm2"] > 0:
        return float("nan")
    return float(np.sum(M * target["jbar"]) / (nm * np.sqrt(target["norm2"])))


class JacobianResult(AnalysisResult):
    name = "jacobian_estimation"

    def final(self):
        out = {}
        for r in self.rows:
            key = (r["rho"], r["alpha"], r.get("batch", 1), r["layer"])
            if key not in out or r["step"] > out[key]["step"]:
                out[key] = r
        return out

    def headline(self) -> list[str]:
        fin = self.final()
        frozen = "forward weights frozen" if not self.meta["arguments"]["learn"] else "network learning"
        lines = [f"cos(M_l, data-averaged same-step Jacobian) at the last checkpoint ({frozen}; "
                 "implementation: reference.py)"]
        for (rho, alpha, batch, layer), r in sorted(fin.items()):
            lines.append(f"  rho {rho:<8g} alpha {alpha:<5g} batch {batch:<3d} layer {layer}: "
                         f"cos {r['cosine_M_jacobian']:.3f}"
                         f"   spread of per-sample Jacobians {r['jacobian_spread']:.3f}")
        return lines

    def figure(self):
        layers = sorted({r["layer"] for r in self.rows})
        fig, axes = new_figure(len(layers) + 1)
        alphas = sorted({r["alpha"] for r in self.rows})
        base_alpha = self.meta["arguments"]["base_alpha"]
        rhos = sorted({r["rho"] for r in self.rows if r["alpha"] == base_alpha})
        cmap = __import__("matplotlib").colormaps["viridis"]
        for ax, l in zip(axes, layers):
            batches = sorted({r.get("batch", 1) for r in self.rows})
            for i, rho in enumerate(rhos):
                for batch, style in zip(batches, ("o-", "s--", "^:")):
                    sel = [r for r in self.rows if r["rho"] == rho and r["alpha"] == base_alpha
                           and r["layer"] == l and r.get("batch", 1) == batch]
                    ax.plot([r["step"] for r in sel], [r["cosine_M_jacobian"] for r in sel], style,
                            color=cmap(i / max(1, len(rhos) - 1)),
                            label=f"rho {rho:g}" + (f", batch {batch}" if batch > 1 else ""))
            ax.set_xscale("log")
            ax.set_ylim(-0.1, 1)
            ax.set_xlabel("training steps")
            ax.set_ylabel("cos(M_l, Jbar_l)")
            ax.set_title(f"hidden layer {l}, alpha {base_alpha:g}")
        axes[0].legend(fontsize=8)
        ax = axes[-1]
        fin = self.final()
        base_rho = self.meta["arguments"]["base_rho"]
        for l in layers:
            ax.plot(alphas, [fin[(base_rho, a, 1, l)]["cosine_M_jacobian"] for a in alphas], "o-",
                    label=f"cos, layer {l}")
            ax.plot(alphas, [fin[(base_rho, a, 1, l)]["jacobian_spread"] for a in alphas], "s--",
                    label=f"spread, layer {l}")
        ax.set_xscale("log")
        ax.set_xlabel("noise scale alpha")
        ax.set_title(f"end of training, rho {base_rho:g}")
        ax.legend(fontsize=8)
        fig.suptitle("OPZO feedback matrices vs the same-step Jacobian (reference.py)")
        return fig


def run(config, *, rhos=(0.0, 0.9, 0.99, 0.999, 0.9999), alphas=(0.25, 1.0), batches=(1,),
        probe_samples: int = 200, draws: int = 4, checkpoints_per_epoch: int = 4, learn: bool = False,
        echo=print) -> JacobianResult:
    """Train OPZO for every rho and mini-batch size (at the config's alpha) and every
    alpha (at its rho, batch 1). With batch B, M averages the batch mean of z o~^T
    once per step, so it gathers about B (1 + rho) / (1 - rho) single-sample estimates."""
    t0 = time.perf_counter()
    base_rho, base_alpha = config.rule.feedback_momentum, config.noise.scale
    grid = [(r, base_alpha, b) for b in batches for r in rhos] + [(base_rho, a, 1) for a in alphas]
    if (base_rho, base_alpha, 1) not in grid:
        grid.append((base_rho, base_alpha, 1))
    grid = list(dict.fromkeys(grid))
    ds, x_probe, y_probe = probe_set(config, probe_samples, 47)
    n_train, T = len(ds.y_train), config.data.steps_per_sample
    rows: list[dict] = []
    configs = {}
    targets: dict = {}
    for k, (rho, alpha, batch) in enumerate(grid, 1):
        if echo:
            echo(f"training with rho {rho:g}, alpha {alpha:g}, batch {batch} ({k}/{len(grid)})...")
        over = {"rule": {"name": "opzo", "feedback_momentum": rho}, "noise": {"scale": alpha}}
        if not learn:
            over["optimizer"] = {"learning_rate": 0.0, "readout_learning_rate": 0.0}
        cfg = config.with_overrides(over)
        configs[f"rho{rho:g}_alpha{alpha:g}_batch{batch}"] = cfg.to_dict()

        def probe(model, epoch, fraction, rho=rho, alpha=alpha, batch=batch, cfg=cfg):
            step = int(round((epoch - 1 + fraction) * n_train * T))
            if learn or alpha not in targets:
                targets[alpha] = jacobian_target(model, x_probe, y_probe, draws)
            for t in targets[alpha]:
                l = t["layer"]
                rows.append({"rho": rho, "alpha": alpha, "batch": batch,
                             "effective_samples": feedback_samples(cfg, batch), "epoch": epoch,
                             "fraction": round(fraction, 4),
                             "step": step, "layer": l,
                             "cosine_M_jacobian": feedback_cosine(
                                 OPZORule.feedback_matrix(cfg, model.state, l), t),
                             "jacobian_spread": t["spread"], "jacobian_norm": np.sqrt(max(t["norm2"], 0)),
                             "M_norm": float(np.linalg.norm(
                                 OPZORule.feedback_matrix(cfg, model.state, l))),
                             "learning": learn, "probe_samples": len(y_probe), "draws": draws,
                             "implementation": "reference.py"})

        trained = train_reference(cfg, checkpoints_per_epoch=checkpoints_per_epoch, on_checkpoint=probe,
                                  batch=batch)
        if echo:
            last = [r for r in rows if (r["rho"], r["alpha"], r["batch"]) == (rho, alpha, batch)
                    ][-len(cfg.network.hidden):]
            echo(f"  rho {rho:g}, alpha {alpha:g}, batch {batch}: cos(M_l, J) " +
                 ", ".join(f"{r['cosine_M_jacobian']:.3f}" for r in last) +
                 (f"; test accuracy {100 * trained.final_accuracy:.1f} %" if learn
                  else " (forward weights frozen)"))
    meta = record(configs, {"rhos": list(rhos), "alphas": list(alphas), "batches": list(batches),
                            "base_rho": base_rho,
                            "base_alpha": base_alpha, "probe_samples": probe_samples, "draws": draws,
                            "learn": learn,
                            "checkpoints_per_epoch": checkpoints_per_epoch},
                  REFERENCE_IMPLEMENTATION, time.perf_counter() - t0)
    return JacobianResult(rows, meta)
