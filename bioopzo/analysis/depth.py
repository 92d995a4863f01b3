"""Analysis 6: depth. OPZO against BP and DFA with 1 to 4 hidden layers
(all of the config's first hidden size), and the accuracy gap
gap(depth) = acc(BP) - acc(OPZO) (and acc(DFA) - acc(OPZO)) per depth.
Each rule takes the model file's [per_rule] table (BP and DFA without noise), and
its learning rate is tuned per depth on a validation split carved from the
training set before the seeds run on the test set (``run``).
"""

from __future__ import annotations

import time

import numpy as np

from bioopzo.analysis.output import AnalysisResult, new_figure, record
from bioopzo.analysis.sweeps import implementation, mean_sd, sweep
from bioopzo.tuning import best_rate
from bioopzo.options import plural

__all__ = ["run", "DepthResult"]

RULES = ("opzo", "bp", "dfa")
COLORS = {"opzo": "tab:blue", "bp": "k", "dfa": "tab:green"}


class DepthResult(AnalysisResult):
    name = "depth"

    def cells(self) -> dict:
        out = {}
        for key in sorted({(r["depth"], r["rule"]) for r in self.rows}):
            sel = [r["test_accuracy_fraction"] for r in self.rows if (r["depth"], r["rule"]) == key]
            out[key] = mean_sd(sel) + (len(sel),)
        return out

    def gaps(self) -> list[dict]:
        c = self.cells()
        out = []
        for depth in sorted({d for d, _ in c}):
            if (depth, "opzo") not in c:
                continue
            row = {"depth": depth}
            for rule in ("bp", "dfa"):
                if (depth, rule) in c:
                    row[f"{rule}_minus_opzo"] = c[(depth, rule)][0] - c[(depth, "opzo")][0]
            out.append(row)
        return out

    def headline(self) -> list[str]:
        c = self.cells()
        lines = [f"test accuracy (%) by depth (implementation: {self.meta['implementation']})"]
        for (depth, rule), (m, sd, n) in c.items():
            lines.append(f"  {plural(depth, 'hidden layer')} {rule:5s}: {100 * m:5.1f} ± {100 * sd:.1f} "
                         f"({plural(n, 'seed')})")
        for g in self.gaps():
            parts = [f"{k.split('_')[0]} - opzo {100 * v:+.1f} points" for k, v in g.items() if k != "depth"]
            lines.append(f"  gap at depth {g['depth']}: " + ", ".join(parts))
        chosen = [r for r in self.meta.get("tuning", []) if r["chosen"]]
        if chosen:
            lines.append("  learning rates tuned on a validation split: " + ", ".join(
                f"depth {r['depth']} {r['rule']} {r['learning_rate']:g}" for r in chosen))
        return lines

    def figure(self):
        fig, (ax,) = new_figure(1, width=5)
        c = self.cells()
        depths = sorted({d for d, _ in c})
        for i, rule in enumerate(RULES):
            sel = [(d, c[(d, rule)]) for d in depths if (d, rule) in c]
            ax.errorbar(np.array([d for d, _ in sel]) + 0.05 * (i - 1), [100 * v[0] for _, v in sel],
                        yerr=[100 * v[1] for _, v in sel], fmt="o-", color=COLORS[rule], label=rule)
        ax.set_xticks(depths)
        ax.set_xlabel("hidden layers")
        ax.set_ylabel("test accuracy (%)")
        ax.legend()
        ax.set_title(f"depth ({self.meta['implementation'].split(' (')[0]})")
        return fig


def run(config, *, depths=(1, 2, 3), rules=RULES, seeds=(1,), backend="reference", workers=1,
        tune_factors=(0.5, 1.0, 2.0), validation_fraction: float = 0.2,
        run_root="analyses/results/runs/depth", echo=print) -> DepthResult:
    """Per depth and rule, the learning rate is first tuned: the rule's configured
    rate x each of ``tune_factors``, trained with the first seed on a validation
    split (``validation_fraction`` of the training set), the best mean final
    validation accuracy wins. Then every seed trains at that rate on the test set.
    ``tune_factors=()`` keeps the configured rates."""
    t0 = time.perf_counter()
    width = config.network.hidden[0]

    def cfg(d, rule, seed, **over):
        return config.with_overrides({"rule": {"name": rule}, "network": {"hidden": [width] * d},
                                      "training": {"seed": seed}, **over})

    chosen, tuning = {}, []
    if tune_factors:
        grid = []
        for d in depths:
            for rule in rules:
                eta = cfg(d, rule, seeds[0]).optimizer.learning_rate
                for f in tune_factors:
                    grid.append(({"depth": d, "learning_rate": eta * f}, cfg(
                        d, rule, seeds[0], optimizer={"learning_rate": eta * f},
                        data={"validation_fraction": validation_fraction})))
        tuning = sweep(grid, backend, workers, run_root, echo)
        for d in depths:
            for rule in rules:
                scores = {r["learning_rate"]: [r["test_accuracy_fraction"]] for r in tuning
                          if r["depth"] == d and r["rule"] == rule}
                chosen[(d, rule)] = rate = best_rate(scores)
                if echo:
                    echo(f"  depth {d}, {rule}: learning rate {rate:g} "
                         f"(validation {100 * scores[rate][0]:.1f} %)")
    labelled = [({"depth": d, "learning_rate": chosen.get((d, rule), cfg(d, rule, seed)
                                                           .optimizer.learning_rate)},
                 cfg(d, rule, seed, **({"optimizer": {"learning_rate": chosen[(d, rule)]}}
                                       if (d, rule) in chosen else {})))
                for d in depths for rule in rules for seed in seeds]
    rows = sweep(labelled, backend, workers, run_root, echo)
    meta = record({f"{rule}": config.with_overrides({"rule": {"name": rule}}).to_dict() for rule in rules},
                  {"depths": list(depths), "rules": list(rules), "seeds": list(seeds), "backend": backend,
                   "width": width, "tune_factors": list(tune_factors),
                   "validation_fraction": validation_fraction}, implementation(backend),
                  time.perf_counter() - t0)
    meta["tuning"] = [{k: r[k] for k in ("depth", "rule", "learning_rate", "test_accuracy_fraction")} |
                      {"chosen": chosen.get((r["depth"], r["rule"])) == r["learning_rate"]}
                      for r in tuning]
    return DepthResult(rows, meta)
