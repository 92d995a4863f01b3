"""Analysis 2: alignment of each rule's weight update with the BP gradient over
training, per hidden layer, on the same noisy forward pass.

A network is trained with every rule of ``rules`` (reference.py, batch 1, the
Brian2 model's algorithm) from the same config and seed. At checkpoints, with
the state frozen, each probe sample is run forward with the OPZO config's noise
(site, alpha, distribution) for every rule, also for rules that train without
noise (bp, dfa), and the sample's summed hidden update G_l of the trained rule
(opzo: psi (M_l e) a^T; dfa: psi (B_l e) a^T; zo: psi (l - b) z a^T / alpha; for
the OPZO run also pzo, the momentum-free z o~^T estimate) is compared with the
BP gradient G_l,bp of that same pass:

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

COLORS = {"opzo": "tab:blue", "pzo": "tab:orange", "dfa": "tab:green", "zo": "tab:red"}


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
        finals = per_seed_final(self.rows)
        if len({r["seed"] for r in finals}) > 1:
            lines.append("last checkpoint, mean cosine per seed:")
            for key in sorted({(r["estimator"], r["run"], r["layer"]) for r in finals}):
                vals = [r for r in finals if (r["estimator"], r["run"], r["layer"]) == key]
                lines.append(f"  {key[0]:5s} ({key[1]} run) layer {key[2]}: " + ", ".join(
                    f"{r['cosine_mean']:.3f}" for r in sorted(vals, key=lambda r: r["seed"])) +
                    f" (seeds {', '.join(str(r['seed']) for r in sorted(vals, key=lambda r: r['seed']))})")
        return lines

    def figure(self):
        layers = sorted({r["layer"] for r in self.rows})
        fig, axes = new_figure(len(layers))
        for ax, l in zip(axes, layers):
            for est in COLORS:
                sel = [r for r in self.rows if r["estimator"] == est and r["layer"] == l]
                if not sel:
                    continue
                t = np.array(sorted({r["epoch"] - 1 + r["fraction"] for r in sel}))
                at = [[r for r in sel if np.isclose(r["epoch"] - 1 + r["fraction"], x)] for x in t]
                mu = np.array([np.mean([r["cosine_mean"] for r in g]) for g in at])      # over seeds
                sd = np.array([np.sqrt(np.mean([r["cosine_sd"] ** 2 for r in g])) for g in at])
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


#: the estimators probed in each rule's training run
PROBED = {"opzo": ("opzo", "pzo"), "dfa": ("dfa",), "zo": ("zo",)}


def run(config, *, rules=("opzo", "dfa"), seeds=None, probe_samples: int = 100,
        checkpoints_per_epoch: int = 4, echo=print) -> AlignmentResult:
    """Train a network with each of ``rules`` from ``config`` (for each of ``seeds``;
    default: the config's seed) and probe its alignment with BP, every rule on a
    forward pass with OPZO's noise. Per-epoch rows average the seeds."""
    t0 = time.perf_counter()
    seeds = (config.training.seed,) if seeds is None else tuple(seeds)
    noise = config.with_overrides({"rule": {"name": "opzo"}}).noise
    noisy = {"noise": {"scale": noise.scale, "site": noise.site,
                       "distribution": noise.distribution, "antithetic": noise.antithetic}}
    rows: list[dict] = []
    configs = {}
    for k, seed in enumerate(seeds, 1):
        if echo:
            echo(f"probing {', '.join(rules)} with seed {seed} ({k}/{len(seeds)})...")
        cfg = config.with_overrides({"training": {"seed": seed}})
        _run_seed(cfg, rules, noisy, probe_samples, checkpoints_per_epoch, rows, configs, echo)
    meta = record(configs, {"rules": list(rules), "seeds": list(seeds), "probe_samples": probe_samples,
                            "checkpoints_per_epoch": checkpoints_per_epoch,
                            "probe_noise": noisy["noise"]},
                  REFERENCE_IMPLEMENTATION, time.perf_counter() - t0)
    meta["per_epoch"] = per_epoch(rows)
    meta["per_seed_final"] = per_seed_final(rows)
    return AlignmentResult(rows, meta)


def per_seed_final(rows: list[dict]) -> list[dict]:
    """Per run, estimator, layer and seed: the mean cosine at the last checkpoint."""
    out = []
    for key in sorted({(r["run"], r["estimator"], r["layer"], r["seed"]) for r in rows}):
        sel = [r for r in rows if (r["run"], r["estimator"], r["layer"], r["seed"]) == key]
        last = max(sel, key=lambda r: (r["epoch"], r["fraction"]))
        out.append({"run": key[0], "estimator": key[1], "layer": key[2], "seed": key[3],
                    "cosine_mean": last["cosine_mean"]})
    return out


def _run_seed(config, rules, noisy, probe_samples, checkpoints_per_epoch, rows, configs, echo):
    from bioopzo.reference import ReferenceModel

    ds, x_probe, y_probe = probe_set(config, probe_samples, 43)
    seed = config.training.seed
    for rule in rules:
        if rule not in PROBED:
            raise ValueError(f"alignment probes {', '.join(PROBED)}, not {rule!r}")
        estimators = PROBED[rule]
        cfg = config.with_overrides({"rule": {"name": rule}})
        probe_cfg = cfg.with_overrides(noisy)
        configs[f"{rule}_seed{seed}"] = cfg.to_dict()

        def probe(model, epoch, fraction, rule=rule, estimators=estimators, probe_cfg=probe_cfg):
            probed = ReferenceModel(probe_cfg, model.n_inputs, model.n_classes, model.state,
                                    seed=[int(1e6 * (epoch + fraction)), 43])
            for s in estimator_statistics(probed, x_probe, y_probe, estimators):
                if s.rule == "bp":
                    continue
                rows.append({"run": rule, "seed": seed, "estimator": s.rule, "layer": s.layer,
                             "epoch": epoch,
                             "fraction": round(fraction, 4), "cosine_mean": s.cosine_mean,
                             "cosine_sd": s.cosine_sd, "probe_samples": s.n_samples,
                             "probe_noise_scale": probe_cfg.noise.scale,
                             "probe_noise_site": probe_cfg.noise.site,
                             "implementation": "reference.py"})
            if echo:
                cur = [r for r in rows if r["run"] == rule and r["epoch"] == epoch
                       and r["fraction"] == round(fraction, 4) and r["seed"] == seed]
                echo(f"  seed {seed}, {rule} run, epoch {epoch - 1 + fraction:.2f}: " + ", ".join(
                    f"{r['estimator']}{r['layer']} {r['cosine_mean']:.3f}" for r in cur))

        trained = train_reference(cfg, checkpoints_per_epoch=checkpoints_per_epoch, on_checkpoint=probe)
        if echo:
            echo(f"  seed {seed}, {rule} run: {ds.evaluation} accuracy "
                 f"{100 * trained.final_accuracy:.1f} %")
        configs[f"{rule}_seed{seed}_final_accuracy"] = trained.final_accuracy
