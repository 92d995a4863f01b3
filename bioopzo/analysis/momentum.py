"""Analysis 5: OPZO's accuracy and stability against the feedback momentum rho
(M_l <- rho M_l + (1 - rho) z_l o~^T; M averages about 1/(1 - rho) steps).

Per rho and seed: final and best test accuracy, the sd of the test accuracy
over the second half of the epochs, the largest drop below the running best,
whether training broke down (a learnable value or the loss became NaN or
infinite) and whether it ended at chance (test accuracy <= 1.5 / classes).
The paper (Table 8) says an extremely large rho is needed for stable training.
"""

from __future__ import annotations

import time

import numpy as np

from bioopzo.analysis.output import AnalysisResult, new_figure, record
from bioopzo.analysis.sweeps import implementation, mean_sd, sweep
from bioopzo.options import plural

__all__ = ["run", "MomentumResult"]


class MomentumResult(AnalysisResult):
    name = "momentum"

    def by_rho(self) -> list[dict]:
        out = []
        for rho in sorted({r["rho"] for r in self.rows}):
            sel = [r for r in self.rows if r["rho"] == rho]
            m, sd = mean_sd([r["test_accuracy_fraction"] for r in sel])
            out.append({"rho": rho, "mean": m, "sd": sd, "seeds": len(sel),
                        "broke_down": sum(bool(r["broke_down"]) for r in sel),
                        "at_chance": sum(bool(r["at_chance"]) for r in sel),
                        "largest_drop_fraction": float(np.nanmax([r["largest_drop_fraction"] for r in sel]))
                        if any(np.isfinite(r["largest_drop_fraction"]) for r in sel) else float("nan")})
        return out

    def headline(self) -> list[str]:
        lines = [f"OPZO test accuracy against feedback momentum rho "
                 f"(implementation: {self.meta['implementation']})"]
        for r in self.by_rho():
            lines.append(f"  rho {r['rho']:<8g}: {100 * r['mean']:5.1f} ± {100 * r['sd']:.1f} % "
                         f"({plural(r['seeds'], 'seed')}; broke down (NaN) in {r['broke_down']}, "
                         f"at chance in {r['at_chance']}; "
                         f"largest drop below running best {100 * r['largest_drop_fraction']:.1f} points)")
        return lines

    def figure(self):
        fig, (ax1, ax2) = new_figure(2)
        by = self.by_rho()
        x = [1 - r["rho"] for r in by]
        ax1.errorbar(x, [100 * r["mean"] for r in by], yerr=[100 * r["sd"] for r in by], fmt="o-")
        for r, xx in zip(by, x):
            if r["broke_down"]:
                ax1.annotate("broke down", (xx, 100 * r["mean"] if np.isfinite(r["mean"]) else 10),
                             fontsize=7, color="r")
        ax1.set_xscale("log")
        ax1.invert_xaxis()
        ax1.set_xlabel("1 - rho")
        ax1.set_ylabel("final test accuracy (%)")
        ax1.set_title("accuracy against momentum")
        cmap = __import__("matplotlib").colormaps["viridis"]
        rhos = sorted({r["rho"] for r in self.rows})
        for i, rho in enumerate(rhos):
            for r in [r for r in self.rows if r["rho"] == rho][:1]:
                acc = [100 * float(a) for a in r["accuracy_per_epoch_fraction"].split()]
                ax2.plot(range(1, len(acc) + 1), acc, "o-", color=cmap(i / max(1, len(rhos) - 1)),
                         label=f"rho {rho:g}")
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("test accuracy (%)")
        ax2.set_title("learning curves (first seed)")
        ax2.legend(fontsize=7)
        fig.suptitle(f"OPZO momentum ({self.meta['implementation'].split(' (')[0]})")
        return fig


def run(config, *, rhos=(0.0, 0.9, 0.99, 0.999, 0.9999), seeds=(1,), backend="reference", workers=1,
        run_root="analyses/results/runs/momentum", echo=print) -> MomentumResult:
    t0 = time.perf_counter()
    labelled = [({"rho": rho}, config.with_overrides(
        {"rule": {"name": "opzo", "feedback_momentum": rho}, "training": {"seed": seed}}))
        for rho in rhos for seed in seeds]
    rows = sweep(labelled, backend, workers, run_root, echo)
    meta = record({"base": config.with_overrides({"rule": {"name": "opzo"}}).to_dict()},
                  {"rhos": list(rhos), "seeds": list(seeds), "backend": backend},
                  implementation(backend), time.perf_counter() - t0)
    return MomentumResult(rows, meta)
