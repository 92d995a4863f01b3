"""Spike-pair and spike-triplet STDP (Pfister & Gerstner 2006) as plasticity models.

``TripletSTDP``. Presynaptic traces r1 (tau_plus), r2 (tau_x), postsynaptic traces o1 (tau_minus),
o2 (tau_y), each decaying as dr/dt = -r/tau between spikes:

    at a presynaptic spike:   w <- w - o1 (A2_minus + A3_minus r2);  r1, r2 <- r1 + 1, r2 + 1
    at a postsynaptic spike:  w <- w + r1 (A2_plus + A3_plus o2);    o1, o2 <- o1 + 1, o2 + 1

(o2 and r2 read before their own increment; nearest-spike interaction sets the traces to 1
instead). tau_x = 0 ms (a blank in the published table, where A3_minus = 0) means tau_x = tau_plus.

``PairSTDP``: the triplet model with A3_plus = A3_minus = 0, i.e. the exponential window
dw = A_plus exp(-dt/tau_plus) for dt = t_post - t_pre > 0 and -A_minus exp(dt/tau_minus) for dt < 0.

Each amplitude multiplies one term: at 0 the term is gone (``A3_plus = A3_minus = 0`` is the pair
rule, ``A2_plus = A3_minus = 0`` Pfister & Gerstner's minimal visual-cortex model), so the amplitudes
are the model's ``removable`` parameters. Times are Brian2 quantities (tau_plus = 16.8 ms); the
amplitudes are dimensionless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from brian2 import ms

from bioopzo.plasticity.models.base import PlasticityModel
from bioopzo.plasticity.models.published import pair_window_time_constants, pfister_gerstner_parameters
from bioopzo.plasticity.protocols import DT
from bioopzo.plasticity.quantities import array_in_unit, in_unit

__all__ = ["TripletSTDP", "PairSTDP"]

_STEP_MS = in_unit(DT, ms, "DT")


def _numbers(quantities: dict, units: dict) -> dict:
    return {k: in_unit(v, units[k], k) for k, v in quantities.items()}


_TRIPLET_UNITS = {"tau_plus": ms, "tau_minus": ms, "tau_x": ms, "tau_y": ms, "A2_plus": 1,
                  "A3_plus": 1, "A2_minus": 1, "A3_minus": 1}


@dataclass(frozen=True)
class TripletSTDP(PlasticityModel):
    name: str = "triplet"
    values: dict = field(default_factory=lambda: _numbers(pfister_gerstner_parameters(
        "visual_cortex", "all_to_all", "full"), _TRIPLET_UNITS))
    free: tuple = ("A2_plus", "A3_plus", "A2_minus", "A3_minus")
    bounds: tuple = ((0, 0.1), (0, 0.1), (0, 0.1), (0, 0.1))
    interaction: str = "all_to_all"

    units: ClassVar[dict] = _TRIPLET_UNITS
    removable: ClassVar[tuple] = ("A2_plus", "A3_plus", "A2_minus", "A3_minus")

    def _taus(self):
        p = self.values
        tau_x = p["tau_x"] if p.get("tau_x") and p["tau_x"] > 0 else p["tau_plus"]
        return p["tau_plus"], tau_x, p["tau_minus"], p["tau_y"]

    def build_brian2(self, pre, post_spikes, conditions, clock, net, modulator):
        import brian2 as b2

        tp, tx, tm, ty = self._taus()
        inc = "= 1" if self.interaction == "nearest_spike" else "+= 1"
        p = self.values
        syn = b2.Synapses(
            pre, post_spikes,
            model="""w : 1
                     dr1/dt = -r1/tau_plus : 1 (event-driven)
                     dr2/dt = -r2/tau_x : 1 (event-driven)
                     do1/dt = -o1/tau_minus : 1 (event-driven)
                     do2/dt = -o2/tau_y : 1 (event-driven)""",
            on_pre=f"w -= o1*(A2_minus + A3_minus*r2)\nr1 {inc}\nr2 {inc}",
            on_post=f"w += r1*(A2_plus + A3_plus*o2)\no1 {inc}\no2 {inc}",
            namespace=dict(tau_plus=tp * b2.ms, tau_x=tx * b2.ms, tau_minus=tm * b2.ms, tau_y=ty * b2.ms,
                           A2_plus=p["A2_plus"], A3_plus=p["A3_plus"], A2_minus=p["A2_minus"],
                           A3_minus=p["A3_minus"]),
            clock=clock, name="plastic_synapse")
        syn.connect(j="i")
        syn.w = 1.0
        return syn

    def numpy_weight_changes(self, conditions) -> np.ndarray:
        tp, tx, tm, ty = self._taus()
        p = self.values
        nearest = self.interaction == "nearest_spike"
        out = np.zeros(len(conditions))
        for k, c in enumerate(conditions):
            # steps, kind (0 = pre first in a shared step, as Brian2 runs the pre pathway first)
            events = sorted([(s, 0) for s in c.pre_steps] + [(s, 1) for s in c.post_steps])
            r1 = r2 = o1 = o2 = 0.0
            w = 0.0
            last = None
            for step, kind in events:
                if last is not None and step != last:
                    gap = (step - last) * _STEP_MS
                    r1 *= math.exp(-gap / tp)
                    r2 *= math.exp(-gap / tx)
                    o1 *= math.exp(-gap / tm)
                    o2 *= math.exp(-gap / ty)
                last = step
                if kind == 0:
                    w -= o1 * (p["A2_minus"] + p["A3_minus"] * r2)
                    r1, r2 = (1.0, 1.0) if nearest else (r1 + 1, r2 + 1)
                else:
                    w += r1 * (p["A2_plus"] + p["A3_plus"] * o2)
                    o1, o2 = (1.0, 1.0) if nearest else (o1 + 1, o2 + 1)
            out[k] = w
        return out


@dataclass(frozen=True)
class PairSTDP(TripletSTDP):
    name: str = "pair"
    values: dict = field(default_factory=lambda: dict(
        **_numbers(pair_window_time_constants(), _TRIPLET_UNITS), A2_plus=5e-3, A2_minus=5e-3,
        A3_plus=0.0, A3_minus=0.0))
    free: tuple = ("A2_plus", "A2_minus")
    bounds: tuple = ((0, 0.1), (0, 0.1))

    @staticmethod
    def analytic(delta_t, A_plus, A_minus, tau_plus=16.8 * ms, tau_minus=33.7 * ms):
        """Weight change of ONE pairing at delta_t = t_post - t_pre (times as quantities)."""
        d = array_in_unit(delta_t, ms, "delta_t")
        tau_p = in_unit(tau_plus, ms, "tau_plus")
        tau_m = in_unit(tau_minus, ms, "tau_minus")
        return np.where(d > 0, A_plus * np.exp(-d / tau_p), -A_minus * np.exp(d / tau_m))
