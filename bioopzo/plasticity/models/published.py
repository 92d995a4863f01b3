"""Published parameter sets of the plasticity models, read from the packaged CSVs as quantities.

- ``pfister_gerstner_parameters``: Pfister & Gerstner 2006 triplet sets (visual cortex or
  hippocampal culture; all-to-all or nearest-spike; full or minimal model);
- ``pair_window_time_constants``: tau_plus = 16.8 ms, tau_minus = 33.7 ms of the pair window;
- ``clopath_parameters``: Clopath et al. 2010, Table 1b (visual cortex, somatosensory cortex,
  hippocampus).

The CSV columns name their units (``tau_plus_ms``, ``theta_minus_mV``, ``A_LTD_per_mV``); the
returned dicts use the model's parameter names with Brian2 quantities (``tau_plus=16.8*ms``).
"""

from __future__ import annotations

from brian2 import mV, ms

from bioopzo.plasticity.datasets import read_table

__all__ = ["pfister_gerstner_parameters", "pair_window_time_constants", "clopath_parameters"]

_TRIPLET_COLUMNS = {"tau_plus_ms": ("tau_plus", ms), "tau_minus_ms": ("tau_minus", ms),
                    "tau_x_ms": ("tau_x", ms), "tau_y_ms": ("tau_y", ms), "A2_plus": ("A2_plus", 1),
                    "A3_plus": ("A3_plus", 1), "A2_minus": ("A2_minus", 1), "A3_minus": ("A3_minus", 1)}
_CLOPATH_COLUMNS = {"theta_minus_mV": ("theta_minus", mV), "theta_plus_mV": ("theta_plus", mV),
                    "A_LTD_per_mV": ("A_LTD", 1 / mV), "A_LTP_per_mV2": ("A_LTP", 1 / mV ** 2),
                    "tau_x_ms": ("tau_x", ms), "tau_minus_ms": ("tau_minus", ms),
                    "tau_plus_ms": ("tau_plus", ms)}


def pfister_gerstner_parameters(data_set: str = "visual_cortex", interaction: str = "all_to_all",
                                model: str = "full") -> dict:
    """A row of pfister_gerstner_2006_triplet_parameters.csv as triplet-model parameters (a blank
    tau_x, unused where A3_minus = 0, becomes 0 ms: the model then uses tau_plus)."""
    for row in read_table("pfister_gerstner_2006_triplet_parameters.csv"):
        if (row["data_set"], row["interaction"], row["model"]) == (data_set, interaction, model):
            return {name: (float(row[column]) if row[column] not in ("", None) else 0.0) * unit
                    for column, (name, unit) in _TRIPLET_COLUMNS.items()}
    raise KeyError(f"no Pfister & Gerstner 2006 parameter set {data_set}/{interaction}/{model}")


def pair_window_time_constants() -> dict:
    """tau_plus, tau_minus of stdp_pair_window_time_constants.csv (16.8 and 33.7 ms); the triplet
    traces r2, o2 get the same values (unused by the pair model, whose A3 are 0)."""
    values = {row["parameter"]: float(row["value"])
              for row in read_table("stdp_pair_window_time_constants.csv")}
    return {"tau_plus": values["tau_plus"] * ms, "tau_minus": values["tau_minus"] * ms,
            "tau_x": values["tau_plus"] * ms, "tau_y": values["tau_minus"] * ms}


def clopath_parameters(data_set: str = "visual_cortex", allow_blank: bool = False) -> dict:
    """A row of clopath_2010_voltage_rule_parameters.csv. The hippocampal set has no tau_minus,
    tau_plus; with ``allow_blank`` they are left out (keep another set's values)."""
    for row in read_table("clopath_2010_voltage_rule_parameters.csv"):
        if row["data_set"] == data_set:
            if not row["tau_minus_ms"] and not allow_blank:
                raise KeyError(f"Clopath 2010 set {data_set!r} has no tau_minus/tau_plus; "
                               "use visual_cortex or somatosensory_cortex, or allow_blank=True")
            return {name: float(row[column]) * unit for column, (name, unit) in _CLOPATH_COLUMNS.items()
                    if row[column]}
    raise KeyError(f"no Clopath 2010 parameter set {data_set!r}")
