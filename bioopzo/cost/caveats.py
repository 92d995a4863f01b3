"""The caveats of cost-model.md section e.6, and which of them apply to a report."""

from __future__ import annotations

__all__ = ["CAVEATS", "applicable_caveats"]

#: number -> (text, predicate(profile, rules))
CAVEATS = {
    1: ("Davies 2018 Table 2 figures are pre-silicon simulations at 0.75 V: 23.6 pJ per synaptic "
        "op is a best-case minimum and 3.5 ns a worst-case maximum. Silicon-calibrated synapse "
        "costs are 24-35.5 pJ (SANA-FE).",
        lambda p, rules: p.family == "loihi1"),
    2: ("Only one learning cost is published (pairwise STDP, 120 pJ / 6.1 ns per synaptic update). "
        "The three-factor updates, OPZO's M updates, BP's weight transport and tag dynamics are "
        "costed by analogy with it.",
        lambda p, rules: bool(rules)),
    3: ("Loihi 2 has no published per-operation energy or time. Graded-spike (payload) feedback "
        "ops are costed as binary synaptic ops, a lower bound.",
        lambda p, rules: p.family in ("loihi1", "loihi2", "custom") and bool(rules)),
    4: ("Per-neuron third factors (g_j, psi_j) are native only on Loihi 2 (y2/y3 written by "
        "microcode). On Loihi 1 they need extra error compartments, which these counts do not add.",
        lambda p, rules: p.family == "loihi1" and bool(rules)),
    5: ("Barrier-sync energy, static/leakage power, synapse-memory programming energy and "
        "per-router energy are unpublished and excluded from the totals; static energy "
        "(~104 mW per chip, derived) is shown separately where the profile gives it.",
        lambda p, rules: True),
    6: ("The neuron-to-core mapping and synapse-memory capacity approximate Loihi's compiler; "
        "message and hop counts, and the time model, depend on them.",
        lambda p, rules: p.family != "abstract"),
    7: ("Fixed-point precision (weights, 7-bit traces) is not in the cost figures but decides "
        "which updates survive quantisation; factor-gated counts are taken after quantising "
        "traces and modulators to the profile's trace bits.",
        lambda p, rules: bool(rules)),
    8: ("Energy-per-op figures of different chips use different definitions (incremental vs "
        "global) and process nodes; cross-chip comparisons are order-of-magnitude only.",
        lambda p, rules: True),
    9: ("KerasSpiking's 27.1 pJ Loihi synaptic op adds a time in ns to an energy in pJ and is not "
        "used; SANA-FE's 4.2 pJ north-south hop is not a Davies 2018 figure.",
        lambda p, rules: p.family == "loihi1"),
}


def applicable_caveats(profile, rules) -> list[tuple[int, str]]:
    """The (number, text) caveats that apply to a report with ``profile`` and ``rules``."""
    return [(k, text) for k, (text, applies) in CAVEATS.items() if applies(profile, list(rules))]
