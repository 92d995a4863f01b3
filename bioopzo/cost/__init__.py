"""Loihi-style op-cost analyzer: what on-chip training with each rule would cost.

    profiles.py   per-event energy and time figures, each with its source (TOML data files)
    record.py     per-step activity recorded from the Brian2 simulation (StateMonitors)
    counts.py     exact event counts per layer and step (and expected counts from rates)
    mapping.py    neuron-to-core mapping on a tile mesh (messages, hops, time)
    model.py      energy and time per sample, per rule and phase
    metrics.py    NeuroBench-style metric classes (docs/metrics/ is generated from them)
    report.py     Markdown / CSV / JSON / PNG report; caveats.py: cost-model.md e.6
    analyze.py    run folder -> report;  command.py: ``bioopzo cost``
"""

from bioopzo.cost.analyze import cost_of_run, cost_of_state, counts_for_state
from bioopzo.cost.counts import Activity, EventCounts, count_events, counts_from_rates
from bioopzo.cost.mapping import map_to_cores
from bioopzo.cost.model import inference_energy, rule_energy, rule_time
from bioopzo.cost.profiles import load_profile, profile_names
from bioopzo.cost.report import CostReport, analyze, write_report

__all__ = ["cost_of_run", "cost_of_state", "counts_for_state", "Activity", "EventCounts",
           "count_events", "counts_from_rates", "map_to_cores", "inference_energy",
           "rule_energy", "rule_time", "load_profile", "profile_names", "CostReport", "analyze",
           "write_report"]
