"""From a run folder (or a config) to a cost report: record, count, cost.

    counts_for_run(run_dir)        record n samples of a trained run, count every event
    cost_of_run(run_dir, ...)      the CostReport of every rule (what ``bioopzo cost`` writes)

The activity comes from the Brian2 simulation of the run's network (record.py), the
counts from that activity (counts.py), energies and times from the profile (model.py).
"""

from __future__ import annotations

from pathlib import Path

from bioopzo.config import ConfigError, ExperimentConfig
from bioopzo.cost.counts import count_events
from bioopzo.cost.mapping import map_to_cores
from bioopzo.cost.profiles import load_profile
from bioopzo.cost.record import record_activity
from bioopzo.cost.report import CostReport, analyze
from bioopzo.options import plural
from bioopzo.rules.registry import COUNTED_RULES

__all__ = ["counts_for_state", "cost_of_state", "cost_of_run", "parse_rules", "run_schedule"]


def parse_rules(text: str | None) -> tuple:
    """'opzo,bp' -> ('opzo', 'bp'); unknown names are an error that lists the known ones."""
    if not text:
        return COUNTED_RULES
    rules = tuple(r.strip() for r in text.split(",") if r.strip())
    bad = [r for r in rules if r not in COUNTED_RULES]
    if bad or not rules:
        unknown = "unknown rule" if len(bad) == 1 else "unknown rules"
        raise ConfigError(f"--rules {text!r}: {unknown} {', '.join(bad) or '(none given)'}; "
                          f"choose from {', '.join(COUNTED_RULES)}, comma separated")
    return tuple(dict.fromkeys(rules))


def run_schedule(config: ExperimentConfig) -> str:
    """The cost model's schedule for the run's optimizer schedule (batch counts as sample)."""
    return "step" if config.optimizer.schedule == "step" else "sample"


def _samples(config: ExperimentConfig, n: int, split: str):
    from bioopzo.data import load_dataset

    ds = load_dataset(config.data, config.training.seed)
    x, y = (ds.x_test, ds.y_test) if split == "test" else (ds.x_train, ds.y_train)
    if n < 1:
        raise ConfigError(f"--samples must be at least 1 (got {n})")
    return x[:n], y[:n]


def counts_for_state(config: ExperimentConfig, state: dict, *, samples: int = 50, split: str = "test",
                     learning: bool = False, profile=None, rules=COUNTED_RULES, quantise: bool = True,
                     seed: int = 0, progress=None):
    """Record ``samples`` samples of ``split`` through the network and count every event
    (``progress``: a :class:`bioopzo.options.Progress` told what is being done)."""
    if split not in ("test", "train"):
        raise ConfigError(f"split {split!r} must be 'test' or 'train'")
    profile = profile or load_profile()
    x, y = _samples(config, samples, split)
    if progress is not None:
        progress.say(f"recording the activity of {plural(len(y), 'sample')} ({split} split, "
                     f"{'learning on' if learning else 'learning off'}) on the runtime device...")
    act = record_activity(config, state, x, y, learning=learning, seed=seed)
    mapping = map_to_cores(act.sizes, profile)
    return count_events(act, mapping, profile, rules=rules, quantise=quantise, progress=progress)


def cost_of_state(config: ExperimentConfig, state: dict, *, profile=None, rules=COUNTED_RULES,
                  mode: str = "dense", schedule: str | None = None, samples: int = 50,
                  split: str = "test", learning: bool = False, rule_complexity: float = 1.0,
                  quantise: bool = True, seed: int = 0, meta: dict | None = None,
                  progress=None) -> CostReport:
    profile = profile or load_profile()
    counts = counts_for_state(config, state, samples=samples, split=split, learning=learning,
                              profile=profile, rules=rules, quantise=quantise, seed=seed,
                              progress=progress)
    from bioopzo.runs import versions

    info = {"name": config.name, "simulated_rule": config.rule.name,
            "config_toml": config.to_toml(), "schedule_from_run": schedule is None,
            "samples": counts.n_samples, "split": split, "learning": learning,
            "versions": versions(config), **(meta or {})}
    if config.optimizer.schedule == "batch":
        counts.notes.append("the run's batch schedule is costed as once per sample (an update "
                            "event per sample would be one per batch on chip)")
    return analyze(counts, profile, rules, mode=mode, schedule=schedule or run_schedule(config),
                   rule_complexity=rule_complexity, meta=info)


def cost_of_run(run_dir: str | Path, **kwargs) -> CostReport:
    """The cost report of a finished run folder (see :func:`cost_of_state` for options)."""
    from bioopzo.runs import load_run

    config, state = load_run(run_dir)
    meta = kwargs.pop("meta", {}) or {}
    meta.setdefault("run_dir", str(run_dir))
    return cost_of_state(config, state, meta=meta, **kwargs)

