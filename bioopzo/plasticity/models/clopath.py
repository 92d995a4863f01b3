"""The Clopath et al. 2010 voltage-based rule with a reduced membrane, as a plasticity model.

Postsynaptic membrane u: at rest E_L; a forced spike clamps u at u_spike for spike_width and adds
z_jump to an afterdepolarisation z (dz/dt = -z/tau_z); after the clamp u restarts at E_L and
follows du/dt = (E_L - u + z)/tau_m (forward Euler, dt). Filters du_-/dt = (u - u_-)/tau_minus,
du_+/dt = (u - u_+)/tau_plus, presynaptic trace tau_x dxbar/dt = -xbar + sum_k delta(t - t_k), i.e.
xbar += 1/tau_x at a presynaptic spike (unit area, as in the paper). Under voltage clamp at V,
u = u_- = u_+ = V. Rule (homeostatic factor ubarbar^2/u_ref^2 held at 1):

    at a presynaptic spike:  w <- w - A_LTD [u_- - theta_minus]_+
    every step:              w <- w + dt A_LTP xbar [u - theta_plus]_+ [u_+ - theta_minus]_+

Potentials are quantities in mV, times in ms, A_LTD in 1/mV and A_LTP in 1/mV^2 (Table 1b of the
paper); the update is the discrete map above, run on plain numbers in those units. The membrane is
a reduction of the paper's AdEx neuron (forced spike of fixed shape, no adaptation), so the
published A_LTD, A_LTP are starting points and are refitted. The weight change is
dw = -A_LTD D + A_LTP P with D and P set by the spikes and the membrane alone (cached); A_LTD = 0 or
A_LTP = 0 removes the depression or the potentiation term (the model's ``removable`` parameters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar

import numpy as np
from brian2 import mV, ms

from bioopzo.plasticity.models.base import PlasticityModel
from bioopzo.plasticity.models.published import clopath_parameters
from bioopzo.plasticity.protocols import DT, clamp_arrays, n_steps, spike_arrays
from bioopzo.plasticity.quantities import in_unit

__all__ = ["ClopathVoltage"]

_STEP_MS = in_unit(DT, ms, "DT")

_UNITS = {"theta_minus": mV, "theta_plus": mV, "A_LTD": 1 / mV, "A_LTP": 1 / mV ** 2, "tau_x": ms,
          "tau_minus": ms, "tau_plus": ms, "E_L": mV, "tau_m": ms, "u_spike": mV, "spike_width": ms,
          "z_jump": mV, "tau_z": ms}
#: the parameters D and P depend on (all but the amplitudes)
_MEMBRANE = ("theta_minus", "theta_plus", "tau_x", "tau_minus", "tau_plus", "E_L", "tau_m", "u_spike",
             "spike_width", "z_jump", "tau_z")


def _default_values() -> dict:
    published = {k: in_unit(v, _UNITS[k], k) for k, v in clopath_parameters("visual_cortex").items()}
    return dict(**published, E_L=-70.6, tau_m=9.4, u_spike=29.4, spike_width=2.0, z_jump=13.3,
                tau_z=40.0)


@dataclass(frozen=True)
class ClopathVoltage(PlasticityModel):
    name: str = "clopath"
    values: dict = field(default_factory=_default_values)
    free: tuple = ("A_LTD", "A_LTP")
    bounds: tuple = ((0 / mV, 0.1 / mV), (0 / mV ** 2, 0.1 / mV ** 2))

    units: ClassVar[dict] = _UNITS
    removable: ClassVar[tuple] = ("A_LTD", "A_LTP")

    def build_brian2(self, pre, post_spikes, conditions, clock, net, modulator):
        import brian2 as b2

        n = len(conditions)
        p = self.values
        ns = dict(E_L=p["E_L"], u_spike=p["u_spike"], tau_m=p["tau_m"], tau_z=p["tau_z"],
                  z_jump=p["z_jump"], tau_minus=p["tau_minus"], tau_plus=p["tau_plus"],
                  theta_minus=p["theta_minus"], theta_plus=p["theta_plus"],
                  A_LTD=p["A_LTD"], A_LTP=p["A_LTP"], tau_x=p["tau_x"],
                  decay_x=math.exp(-_STEP_MS / p["tau_x"]),
                  decay_z=math.exp(-_STEP_MS / p["tau_z"]), dt_ms=_STEP_MS,
                  width=float(round(p["spike_width"] / _STEP_MS)))
        # membrane quantities in mV and ms as plain numbers: the update is the discrete map above
        post = b2.NeuronGroup(n, """u : 1
                                    u_minus : 1
                                    u_plus : 1
                                    z : 1
                                    spike_left : 1
                                    clamped : 1 (constant)
                                    u_clamp : 1 (constant)""",
                              clock=clock, namespace=ns, name="post_membrane")
        clamped, u_clamp = clamp_arrays(conditions)
        start = np.where(clamped > 0, u_clamp, p["E_L"])
        post.clamped = clamped
        post.u_clamp = u_clamp
        post.u = start
        post.u_minus = start
        post.u_plus = start
        post.spike_left = -1
        force = b2.Synapses(post_spikes, post, clock=clock, namespace=ns, name="forced_post_spike",
                            on_pre="spike_left_post = width\nu_post = u_spike\nz_post += z_jump")
        force.connect(j="i")
        syn = b2.Synapses(pre, post, model="w : 1\nxbar : 1", clock=clock, namespace=ns,
                          on_pre="w -= A_LTD*clip(u_minus_post - theta_minus, 0, inf)\nxbar += 1/tau_x",
                          name="plastic_synapse")
        syn.connect(j="i")
        syn.w = 1.0
        syn.run_regularly("""ltp = clip(u_post - theta_plus, 0, inf)*clip(u_plus_post - theta_minus, 0, inf)
                             w += dt_ms*A_LTP*xbar*ltp
                             xbar = decay_x*xbar""", when="end", order=0, name="clopath_ltp")
        post.run_regularly("""u_minus += dt_ms*(u - u_minus)/tau_minus
                              u_plus += dt_ms*(u - u_plus)/tau_plus
                              spike_left = spike_left - 1
                              u_free = u + dt_ms*(E_L - u + z)/tau_m
                              u_clamped = int(spike_left > 0.5)*u_spike + int(abs(spike_left) < 0.5)*E_L
                              u_unclamped = u_clamped + int(spike_left < -0.5)*u_free
                              u = clamped*u_clamp + (1 - clamped)*u_unclamped
                              z = decay_z*z
                              spike_left = clip(spike_left, -1, width)""",
                           when="end", order=1, name="membrane")
        net.add(post, force)
        return syn

    def numpy_weight_changes(self, conditions) -> np.ndarray:
        """dw = -A_LTD * D + A_LTP * P: D and P depend on the spikes and the membrane only (cached)."""
        D, P = _clopath_terms(tuple(conditions), tuple((k, self.values[k]) for k in _MEMBRANE))
        return -self.values["A_LTD"] * D + self.values["A_LTP"] * P


@lru_cache(maxsize=64)
def _clopath_terms(conditions, membrane):
    """Depression D (sum over presynaptic spikes of [u_- - theta_-]_+) and potentiation P
    (sum over steps of dt xbar [u - theta_+]_+ [u_+ - theta_-]_+) with the Brian2 step order."""
    p = dict(membrane)
    T = n_steps(conditions)
    n = len(conditions)
    s_pre, s_post = spike_arrays(conditions, T)
    width = float(round(p["spike_width"] / _STEP_MS))
    decay_x = math.exp(-_STEP_MS / p["tau_x"])
    decay_z = math.exp(-_STEP_MS / p["tau_z"])
    E_L = p["E_L"]
    clamped, u_clamp = clamp_arrays(conditions)
    u = np.where(clamped > 0, u_clamp, E_L)
    um = u.copy()
    up = u.copy()
    z = np.zeros(n)
    left = np.full(n, -1.0)
    xbar = np.zeros(n)
    D = np.zeros(n)
    P = np.zeros(n)
    tm, tmin, tplus = p["tau_m"], p["tau_minus"], p["tau_plus"]
    for t in range(T):
        # synapses slot: forced postsynaptic spikes, then presynaptic LTD (Brian2 object order)
        post_now = s_post[t]
        if post_now.any():
            left = np.where(post_now, width, left)
            u = np.where(post_now, p["u_spike"], u)
            z = z + p["z_jump"] * post_now
        pre_now = s_pre[t]
        if pre_now.any():
            D += pre_now * np.maximum(um - p["theta_minus"], 0)
            xbar = xbar + pre_now / p["tau_x"]
        # end slot: LTP, trace decay, membrane
        P += _STEP_MS * xbar * np.maximum(u - p["theta_plus"], 0) * np.maximum(up - p["theta_minus"], 0)
        xbar = decay_x * xbar
        um = um + _STEP_MS * (u - um) / tmin
        up = up + _STEP_MS * (u - up) / tplus
        left = left - 1
        u = np.where(left > 0.5, p["u_spike"],
                     np.where(np.abs(left) < 0.5, E_L, u + _STEP_MS * (E_L - u + z) / tm))
        u = clamped * u_clamp + (1 - clamped) * u
        z = decay_z * z
        left = np.clip(left, -1, width)
    return D, P
