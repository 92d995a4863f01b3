"""Analysis 4: noise robustness of OPZO. Test accuracy for every noise
distribution (gaussian, rademacher, sphere; E[z z^T] = I for all three) x site
(membrane: u += alpha z; output: x = s + alpha z) x scale alpha x antithetic
pairing (z, -z on consecutive steps), on digits and/or mnist1d, over seeds.

The paper reports all distribution/site combinations within 2 points of each
other on CIFAR-10; this reports the spread bioopzo measures: the range
(max - min) of the seed-mean accuracies over distribution x site at each alpha
and antithetic setting.
"""

from __future__ import annotations

import itertools
import time

from bioopzo.analysis.output import AnalysisResult, new_figure, record
from bioopzo.analysis.sweeps import implementation, mean_sd, sweep
from bioopzo.options import plural

__all__ = ["run", "NoiseResult", "DEFAULT_GRID", "FULL_GRID"]

DEFAULT_GRID = {"distributions": ("gaussian", "rademacher", "sphere"), "sites": ("membrane", "output"),
                "scales": (0.3,), "antithetic": (False, True), "extra_scales": (0.1, 1.0)}
FULL_GRID = {"distributions": ("gaussian", "rademacher", "sphere"), "sites": ("membrane", "output"),
             "scales": (0.1, 0.3, 1.0), "antithetic": (False, True), "extra_scales": ()}


class NoiseResult(AnalysisResult):
    name = "noise_robustness"

    def cells(self) -> list[dict]:
        keys = sorted({(r["dataset"], r["distribution"], r["site"], r["alpha"], r["antithetic"])
                       for r in self.rows})
        out = []
        for key in keys:
            sel = [r["test_accuracy_fraction"] for r in self.rows
                   if (r["dataset"], r["distribution"], r["site"], r["alpha"], r["antithetic"]) == key]
            m, sd = mean_sd(sel)
            out.append(dict(zip(("dataset", "distribution", "site", "alpha", "antithetic"), key),
                            mean=m, sd=sd, seeds=len(sel)))
        return out

    def spreads(self) -> list[dict]:
        """Range of the cell means over distribution x site, per dataset, alpha, antithetic."""
        cells = self.cells()
        out = []
        for key in sorted({(c["dataset"], c["alpha"], c["antithetic"]) for c in cells}):
            sel = [c for c in cells if (c["dataset"], c["alpha"], c["antithetic"]) == key]
            if len(sel) < 2:
                continue
            means = [c["mean"] for c in sel]
            out.append(dict(zip(("dataset", "alpha", "antithetic"), key), combinations=len(sel),
                            min=min(means), max=max(means), range=max(means) - min(means)))
        return out

    def headline(self) -> list[str]:
        lines = [f"OPZO test accuracy (%) by noise distribution x site (mean over seeds; "
                 f"implementation: {self.meta['implementation']})"]
        for c in self.cells():
            lines.append(f"  {c['dataset']:8s} {c['distribution']:10s} {c['site']:8s} "
                         f"alpha {c['alpha']:<5g} antithetic {str(c['antithetic']):5s}: "
                         f"{100 * c['mean']:5.1f} ± {100 * c['sd']:.1f} ({plural(c['seeds'], 'seed')})")
        for s in self.spreads():
            lines.append(f"  range over {s['combinations']} distribution x site combinations, "
                         f"{s['dataset']}, alpha {s['alpha']:g}, antithetic {s['antithetic']}: "
                         f"{100 * s['range']:.1f} points "
                         f"({100 * s['min']:.1f}-{100 * s['max']:.1f} %)")
        return lines

    def figure(self):
        cells = self.cells()
        datasets = sorted({c["dataset"] for c in cells})
        fig, axes = new_figure(len(datasets) * 2, width=4.6)
        for d, dataset in enumerate(datasets):
            ax = axes[2 * d]
            base = self.meta["arguments"]["base_alpha"]
            main = [c for c in cells if c["dataset"] == dataset and c["alpha"] == base]
            labels = [f"{c['distribution'][:5]}\n{c['site'][:4]}\n{'anti' if c['antithetic'] else 'iid'}"
                      for c in main]
            ax.bar(range(len(main)), [100 * c["mean"] for c in main],
                   yerr=[100 * c["sd"] for c in main], color=["tab:blue" if c["site"] == "membrane"
                                                              else "tab:orange" for c in main])
            ax.set_xticks(range(len(main)), labels, fontsize=6)
            lo = min([100 * c["mean"] for c in main] + [100])
            ax.set_ylim(max(0, lo - 10), 100)
            ax.set_ylabel("test accuracy (%)")
            ax.set_title(f"{dataset}, alpha {self.meta['arguments']['base_alpha']:g}")
            ax = axes[2 * d + 1]
            for dist, site in itertools.product(("gaussian", "rademacher", "sphere"), ("membrane", "output")):
                sel = sorted([c for c in cells if c["dataset"] == dataset and c["distribution"] == dist
                              and c["site"] == site and not c["antithetic"]], key=lambda c: c["alpha"])
                if len(sel) > 1:
                    ax.plot([c["alpha"] for c in sel], [100 * c["mean"] for c in sel], "o-",
                            label=f"{dist}, {site}")
            ax.set_xscale("log")
            ax.set_xlabel("noise scale alpha")
            ax.set_ylabel("test accuracy (%)")
            ax.set_title(f"{dataset}: accuracy vs alpha (iid noise)")
            if ax.lines:
                ax.legend(fontsize=7)
        fig.suptitle(f"OPZO noise robustness ({self.meta['implementation'].split(' (')[0]})")
        return fig


def run(config, *, datasets=("digits",), seeds=(1,), grid=None, backend="reference", workers=1,
        run_root="analyses/results/runs/noise", echo=print) -> NoiseResult:
    """Train OPZO for every grid cell; ``grid`` keys as in :data:`DEFAULT_GRID`."""
    grid = dict(DEFAULT_GRID if grid is None else grid)
    t0 = time.perf_counter()
    base_alpha = grid["scales"][0] if len(grid["scales"]) == 1 else config.noise.scale
    cells = [(dist, site, alpha, anti) for dist, site, alpha, anti in itertools.product(
        grid["distributions"], grid["sites"], grid["scales"], grid["antithetic"])]
    cells += [("gaussian", site, a, False) for a in grid.get("extra_scales", ())
              for site in grid["sites"] if ("gaussian", site, a, False) not in cells]
    labelled = []
    for dataset in datasets:
        for dist, site, alpha, anti in cells:
            for seed in seeds:
                over = {"rule": {"name": "opzo"}, "training": {"seed": seed},
                        "noise": {"distribution": dist, "site": site, "scale": alpha, "antithetic": anti}}
                if dataset != config.data.dataset:
                    over["data"] = {"dataset": dataset}
                cfg = config.with_overrides(over)
                labelled.append(({"distribution": dist, "site": site, "alpha": alpha, "antithetic": anti},
                                 cfg))
    rows = sweep(labelled, backend, workers, run_root, echo)
    meta = record({"base": config.with_overrides({"rule": {"name": "opzo"}}).to_dict()},
                  {"datasets": list(datasets), "seeds": list(seeds), "grid": grid, "backend": backend,
                   "base_alpha": base_alpha},
                  implementation(backend), time.perf_counter() - t0)
    return NoiseResult(rows, meta)
