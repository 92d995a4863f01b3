"""The OPZO three-factor synapse with an eligibility trace, as a plasticity model.

The synapse of DESIGN.md section 1 in biological time. Per step of dt = 0.1 ms, with
lambda_pre = exp(-dt/tau_pre), lambda_e = exp(-dt/tau_e) (0 for tau_e = 0) and
lambda_m = exp(-dt/tau_m):

    a[t]   = lambda_pre a[t-1] + s_pre[t]                       presynaptic trace
    u[t]   = theta in a step with a forced postsynaptic spike, else lambda_m v[t-1]
    v[t]   = u[t] - theta H(u[t] - theta)                        soft reset
    psi[t] = kappa sigma(kappa (u[t] - theta)) (1 - sigma(kappa (u[t] - theta)))     surrogate
    e[t]   = lambda_e e[t-1] + psi[t] a[t]                       eligibility (e = psi a for tau_e = 0)
    w[t]   = w[t-1] + scale m[t] e[t]                            m: modulator (third factor)

psi is the package's one surrogate (``bioopzo.neurons.SURROGATE_CODE`` in Brian2,
``bioopzo.neurons.surrogate`` in NumPy). u is the membrane potential in units of the threshold
above rest (u = 0 at rest, theta = 1), so psi(0) = kappa sigma(-kappa)(1 - sigma(-kappa)) > 0 gives
a presynaptic-only (non-Hebbian) term. Under voltage clamp at V, u = (V - V_rest)/(V_threshold -
V_rest) every step (V_rest = -70 mV, V_threshold = -50 mV by default). scale stands for -eta times
the sign convention of g (DESIGN: dW ~ -psi g a); it is signed and fitted.

``tau_e = 0 ms`` is the plain OPZO synapse (registered as ``opzo``), ``tau_e > 0`` its
eligibility-trace variant (``opzo_eligibility``, tau_e = 1 s). Without modulator pulses and with
tau_e = 0 the NumPy form is the closed sum

    sum_t psi[t] a[t] = psi(0) sum_t a[t] + (psi(theta) - psi(0)) sum_{post steps} a

(under voltage clamp psi(0) becomes psi(u_clamp)); otherwise it is the step loop above, evaluated
with linear filters along time (``filtered``): the soft reset returns u = theta to exactly 0, so u is
theta in forced-spike steps and its rest (0) or clamp value in all others, psi[t] is known in
advance, and a and e are first-order recursions (``scipy.signal.lfilter``). ``step_loop`` is the
plain loop, kept as the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from brian2 import mV, ms
from scipy.signal import lfilter
from brian2.utils.stringtools import word_substitute

from bioopzo.neurons import SURROGATE_CODE, surrogate
from bioopzo.plasticity.models.base import PlasticityModel
from bioopzo.plasticity.protocols import DT, clamp_arrays, modulator_array, n_steps, spike_arrays
from bioopzo.plasticity.quantities import in_unit

__all__ = ["OPZOEligibility"]

_STEP_MS = in_unit(DT, ms, "DT")


@dataclass(frozen=True)
class OPZOEligibility(PlasticityModel):
    name: str = "opzo"
    values: dict = field(default_factory=lambda: dict(
        scale=1e-3, tau_pre=20.0, kappa=4.0, theta=1.0, tau_m=20.0, tau_e=0.0, V_rest=-70.0,
        V_threshold=-50.0))
    free: tuple = ("scale", "tau_pre", "kappa")
    bounds: tuple = ((-1.0, 1.0), (1.0 * ms, 200.0 * ms), (0.5, 40.0))
    needs_modulator: bool = True
    linear_free: bool = False

    units: ClassVar[dict] = {"scale": 1, "tau_pre": ms, "kappa": 1, "theta": 1, "tau_m": ms,
                             "tau_e": ms, "V_rest": mV, "V_threshold": mV}

    def _lambdas(self):
        p = self.values
        lam_e = math.exp(-_STEP_MS / p["tau_e"]) if p["tau_e"] > 0 else 0.0
        return math.exp(-_STEP_MS / p["tau_pre"]), lam_e, math.exp(-_STEP_MS / p["tau_m"])

    def build_brian2(self, pre, post_spikes, conditions, clock, net, modulator):
        import brian2 as b2

        n = len(conditions)
        p = self.values
        lam_pre, lam_e, lam_m = self._lambdas()
        ns = dict(theta=p["theta"], kappa=p["kappa"], scale=p["scale"], lambda_pre=lam_pre,
                  lambda_e=lam_e, lambda_m=lam_m, modulator=modulator)
        post = b2.NeuronGroup(n, "u : 1\nclamped : 1 (constant)\nu_clamp : 1 (constant)", clock=clock,
                              namespace=ns, name="post_membrane")
        clamped, u_clamp = self._clamp(conditions)
        post.clamped = clamped
        post.u_clamp = u_clamp
        post.u = clamped * u_clamp
        force = b2.Synapses(post_spikes, post, on_pre="u_post = theta", clock=clock, namespace=ns,
                            name="forced_post_spike")
        force.connect(j="i")
        syn = b2.Synapses(pre, post, model="w : 1\na : 1\nelig : 1", on_pre="a += 1", clock=clock,
                          namespace=ns, name="plastic_synapse")
        syn.connect(j="i")
        syn.w = 1.0
        psi = word_substitute(SURROGATE_CODE, {"u": "u_post"})
        syn.run_regularly(f"""{psi}
                              elig = lambda_e*elig + psi*a
                              w += scale*modulator(t, i)*elig
                              a = lambda_pre*a""", when="end", order=0, name="opzo_update")
        post.run_regularly("u = clamped*u_clamp + (1 - clamped)*lambda_m*(u - theta*int(u >= theta))",
                           when="end", order=1, name="soft_reset_and_leak")
        net.add(post, force)
        return syn

    def _clamp(self, conditions):
        clamped, value = clamp_arrays(conditions)
        p = self.values
        return clamped, clamped * (value - p["V_rest"]) / (p["V_threshold"] - p["V_rest"])

    def numpy_weight_changes(self, conditions) -> np.ndarray:
        if self.values["tau_e"] == 0 and all(c.modulator is None for c in conditions):
            return self.closed_form(conditions)
        return self.filtered(conditions)

    def closed_form(self, conditions) -> np.ndarray:
        """w(T) - 1 for m = 1 and tau_e = 0 (see the module docstring)."""
        p = self.values
        lam, _, _ = self._lambdas()
        T = n_steps(conditions)
        psi_spike = surrogate(p["theta"], p["kappa"], p["theta"])
        clamped, u_clamp = self._clamp(conditions)
        out = np.zeros(len(conditions))
        for k, c in enumerate(conditions):
            psi0 = surrogate(u_clamp[k], p["kappa"], p["theta"])
            pre = np.array(c.pre_steps, dtype=np.int64)
            post = np.array(c.post_steps, dtype=np.int64)
            total = np.sum((1.0 - lam ** (T - pre)) / (1.0 - lam))
            lag = post[:, None] - pre[None, :]
            at_post = np.where(lag >= 0, lam ** np.maximum(lag, 0), 0.0).sum()
            out[k] = p["scale"] * (psi0 * total + (psi_spike - psi0) * at_post)
        return out

    def filtered(self, conditions) -> np.ndarray:
        """w(T) - 1 of the step loop, by linear filters along time (see the module docstring)."""
        p = self.values
        lam_pre, lam_e, _ = self._lambdas()
        T = n_steps(conditions)
        m = modulator_array(conditions, T)
        s_pre, s_post = spike_arrays(conditions, T)
        clamped, u_clamp = self._clamp(conditions)
        theta, kappa = p["theta"], p["kappa"]
        u = np.where(s_post, theta, (clamped * u_clamp)[None, :])
        a = lfilter([1.0], [1.0, -lam_pre], s_pre.astype(float), axis=0)
        drive = surrogate(u, kappa, theta) * a
        e = lfilter([1.0], [1.0, -lam_e], drive, axis=0) if lam_e > 0 else drive
        return p["scale"] * np.sum(m * e, axis=0)

    def step_loop(self, conditions) -> np.ndarray:
        """w(T) - 1 by stepping the synapse (any modulator, any tau_e)."""
        p = self.values
        lam_pre, lam_e, lam_m = self._lambdas()
        T = n_steps(conditions)
        n = len(conditions)
        m = modulator_array(conditions, T)
        s_pre, s_post = spike_arrays(conditions, T)
        clamped, u_clamp = self._clamp(conditions)
        a = np.zeros(n)
        e = np.zeros(n)
        u = clamped * u_clamp
        w = np.zeros(n)
        theta, kappa, scale = p["theta"], p["kappa"], p["scale"]
        for t in range(T):
            a += s_pre[t]
            u = np.where(s_post[t], theta, u)
            e = lam_e * e + surrogate(u, kappa, theta) * a
            w += scale * m[t] * e
            a *= lam_pre
            u = clamped * u_clamp + (1 - clamped) * lam_m * (u - theta * (u >= theta))
        return w
