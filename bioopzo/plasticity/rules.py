"""Learning rules under test, each as Brian2 synapse code and as an exact NumPy form.

All rules are additive: the weight starts at w(0) = 1 (the weight in units of its initial value) and
the rule adds dimensionless changes, so dw_rel = w(T) - 1. Times in ms, dt = 0.1 ms.

``TripletSTDP`` (Pfister & Gerstner 2006). Presynaptic traces r1 (tau_plus), r2 (tau_x), postsynaptic
traces o1 (tau_minus), o2 (tau_y), each decaying as dr/dt = -r/tau between spikes:

    at a presynaptic spike:   w <- w - o1 (A2_minus + A3_minus r2);  r1, r2 <- r1 + 1, r2 + 1
    at a postsynaptic spike:  w <- w + r1 (A2_plus + A3_plus o2);    o1, o2 <- o1 + 1, o2 + 1

(o2 and r2 read before their own increment; nearest-spike interaction sets the traces to 1 instead).

``PairSTDP``: the triplet rule with A3_plus = A3_minus = 0, i.e. the exponential window
dw = A_plus exp(-dt/tau_plus) for dt = t_post - t_pre > 0 and -A_minus exp(dt/tau_minus) for dt < 0.

``OPZOSynapse``: the three-factor synapse of DESIGN.md section 1 in biological time. Per step of
dt = 0.1 ms, with lambda_pre = exp(-dt/tau_pre) and lambda_e = exp(-dt/tau_e) (0 for tau_e = 0):

    a[t]   = lambda_pre a[t-1] + s_pre[t]                       presynaptic trace
    u[t]   = theta in a step with a forced postsynaptic spike, else lambda_m v[t-1]
    v[t]   = u[t] - theta H(u[t] - theta)                        soft reset
    psi[t] = kappa sigma(kappa (u[t] - theta)) (1 - sigma(kappa (u[t] - theta)))     surrogate
    e[t]   = lambda_e e[t-1] + psi[t] a[t]                       eligibility (e = psi a for tau_e = 0)
    w[t]   = w[t-1] + scale m[t] e[t]                            m: modulator (third factor)

u is the membrane potential in units of the threshold above rest (u = 0 at rest, theta = 1), so
psi(0) = kappa sigma(-kappa)(1 - sigma(-kappa)) > 0 gives a presynaptic-only (non-Hebbian) term.
Under voltage clamp at V (mV), u = (V - V_rest)/(V_threshold - V_rest) every step (V_rest = -70 mV,
V_threshold = -50 mV by default).
scale stands for -eta times the sign convention of g (DESIGN: dW ~ -psi g a); it is signed and
fitted. ``tau_e = 0`` is the plain OPZO synapse, ``tau_e > 0`` its eligibility-trace variant.

``ClopathVoltage`` (Clopath et al. 2010, reduced membrane). Postsynaptic membrane u (mV): at rest
E_L; a forced spike clamps u at u_spike for spike_width and adds z_jump to an afterdepolarisation z
(dz/dt = -z/tau_z); after the clamp u restarts at E_L and follows du/dt = (E_L - u + z)/tau_m
(forward Euler, dt). Filters du_-/dt = (u - u_-)/tau_minus, du_+/dt = (u - u_+)/tau_plus,
presynaptic trace tau_x dxbar/dt = -xbar + sum_k delta(t - t_k), i.e. xbar += 1/tau_x at a presynaptic
spike (unit area, as in the paper). Under voltage clamp at V, u = u_- = u_+ = V. Rule (homeostatic
factor ubarbar^2/u_ref^2 held at 1):

    at a presynaptic spike:  w <- w - A_LTD [u_- - theta_minus]_+
    every step:              w <- w + dt A_LTP xbar [u - theta_plus]_+ [u_+ - theta_minus]_+

The membrane is a reduction of the paper's AdEx neuron (forced spike of fixed shape, no adaptation),
so the published A_LTD, A_LTP are starting points and are refitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from bioopzo.plasticity.protocols import DT_MS, clamp_arrays, modulator_array, n_steps, spike_steps

__all__ = ["Rule", "PairSTDP", "TripletSTDP", "OPZOSynapse", "ClopathVoltage", "RULES", "make_rule",
           "pfister_gerstner_parameters", "clopath_parameters"]


@dataclass(frozen=True)
class Rule:
    """Base class: ``params`` (dict, units in the names), ``free`` (name -> (low, high) bounds)."""

    params: dict = field(default_factory=dict)
    name: str = "rule"

    free: tuple = ()
    bounds: tuple = ()
    #: the rule reads the third factor (modulator); the others ignore it
    needs_modulator: bool = False
    #: True when the weight change is linear in every free parameter (fitted by linear least squares)
    linear_free: bool = True

    def with_params(self, **values) -> "Rule":
        unknown = set(values) - set(self.params)
        if unknown:
            raise KeyError(f"{self.name} has no parameter(s) {sorted(unknown)}; "
                           f"known: {sorted(self.params)}")
        return replace(self, params={**self.params, **values})

    def __getattr__(self, key):
        params = self.__dict__.get("params", {})
        if key in params:
            return params[key]
        raise AttributeError(key)

    # one simulation per condition set
    def weight_changes(self, conditions, engine: str = "numpy") -> np.ndarray:
        from bioopzo.plasticity.protocols import simulate_brian2

        if engine == "brian2":
            return simulate_brian2(self, conditions)
        if engine == "numpy":
            repeats = np.array([c.repeats for c in conditions], dtype=float)
            return repeats * self.numpy_weight_changes(list(conditions))
        raise ValueError(f"engine must be 'brian2' or 'numpy', not {engine!r}")


# ----------------------------------------------------------------------------- spike-pair rules
@dataclass(frozen=True)
class TripletSTDP(Rule):
    name: str = "triplet"
    params: dict = field(default_factory=lambda: dict(pfister_gerstner_parameters(
        "visual_cortex", "all_to_all", "full")))
    free: tuple = ("A2_plus", "A3_plus", "A2_minus", "A3_minus")
    bounds: tuple = ((0, 0.1), (0, 0.1), (0, 0.1), (0, 0.1))
    interaction: str = "all_to_all"

    def _taus(self):
        p = self.params
        tau_x = p["tau_x_ms"] if p.get("tau_x_ms") and p["tau_x_ms"] > 0 else p["tau_plus_ms"]
        return p["tau_plus_ms"], tau_x, p["tau_minus_ms"], p["tau_y_ms"]

    def build_brian2(self, pre, post_spikes, conditions, clock, net, modulator):
        import brian2 as b2

        tp, tx, tm, ty = self._taus()
        inc = "= 1" if self.interaction == "nearest_spike" else "+= 1"
        p = self.params
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
        p = self.params
        nearest = self.interaction == "nearest_spike"
        out = np.zeros(len(conditions))
        for k, c in enumerate(conditions):
            # steps, kind (0 = pre first in a shared step, as Brian2 runs the pre pathway first)
            events = sorted([(s, 0) for s in spike_steps(c.pre_ms)]
                            + [(s, 1) for s in spike_steps(c.post_ms)])
            r1 = r2 = o1 = o2 = 0.0
            w = 0.0
            last = None
            for step, kind in events:
                if last is not None and step != last:
                    gap = (step - last) * DT_MS
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
    params: dict = field(default_factory=lambda: dict(
        **pair_window_time_constants(), A2_plus=5e-3, A2_minus=5e-3, A3_plus=0.0, A3_minus=0.0))
    free: tuple = ("A2_plus", "A2_minus")
    bounds: tuple = ((0, 0.1), (0, 0.1))

    @staticmethod
    def analytic(delta_t_ms, A_plus, A_minus, tau_plus_ms=16.8, tau_minus_ms=33.7):
        """Weight change of ONE pairing at delta_t = t_post - t_pre (ms)."""
        d = np.asarray(delta_t_ms, dtype=float)
        return np.where(d > 0, A_plus * np.exp(-d / tau_plus_ms), -A_minus * np.exp(d / tau_minus_ms))


# ----------------------------------------------------------------------------- OPZO synapse
def surrogate(u, kappa, theta=1.0):
    sig = 1.0 / (1.0 + np.exp(-kappa * (u - theta)))
    return kappa * sig * (1.0 - sig)


@dataclass(frozen=True)
class OPZOSynapse(Rule):
    name: str = "opzo"
    params: dict = field(default_factory=lambda: dict(
        scale=1e-3, tau_pre_ms=20.0, kappa=4.0, theta=1.0, tau_m_ms=20.0, tau_e_ms=0.0,
        V_rest_mV=-70.0, V_threshold_mV=-50.0))
    free: tuple = ("scale", "tau_pre_ms", "kappa")
    bounds: tuple = ((-1.0, 1.0), (1.0, 200.0), (0.5, 40.0))
    needs_modulator: bool = True
    linear_free: bool = False

    def _lambdas(self):
        p = self.params
        lam_e = math.exp(-DT_MS / p["tau_e_ms"]) if p["tau_e_ms"] > 0 else 0.0
        return math.exp(-DT_MS / p["tau_pre_ms"]), lam_e, math.exp(-DT_MS / p["tau_m_ms"])

    def build_brian2(self, pre, post_spikes, conditions, clock, net, modulator):
        import brian2 as b2

        n = len(conditions)
        p = self.params
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
        syn.run_regularly("""sig = 1/(1 + exp(-kappa*(u_post - theta)))
                             elig = lambda_e*elig + kappa*sig*(1 - sig)*a
                             w += scale*modulator(t, i)*elig
                             a = lambda_pre*a""", when="end", order=0, name="opzo_update")
        post.run_regularly("u = clamped*u_clamp + (1 - clamped)*lambda_m*(u - theta*int(u >= theta))",
                           when="end", order=1, name="soft_reset_and_leak")
        net.add(post, force)
        return syn

    def _clamp(self, conditions):
        clamped, value = clamp_arrays(conditions)
        p = self.params
        return clamped, clamped * (value - p["V_rest_mV"]) / (p["V_threshold_mV"] - p["V_rest_mV"])

    def numpy_weight_changes(self, conditions) -> np.ndarray:
        if self.params["tau_e_ms"] == 0 and all(c.modulator is None for c in conditions):
            return self._closed_form(conditions)
        return self._step_loop(conditions)

    def _closed_form(self, conditions) -> np.ndarray:
        """m = 1, tau_e = 0: sum_t psi[t] a[t] = psi(0) sum_t a[t] + (psi(theta) - psi(0)) sum_post a
        (under voltage clamp psi(0) becomes psi(u_clamp))."""
        p = self.params
        lam, _, _ = self._lambdas()
        T = n_steps(conditions)
        psi_spike = surrogate(p["theta"], p["kappa"], p["theta"])
        clamped, u_clamp = self._clamp(conditions)
        out = np.zeros(len(conditions))
        for k, c in enumerate(conditions):
            psi0 = surrogate(u_clamp[k], p["kappa"], p["theta"])
            pre = spike_steps(c.pre_ms)
            post = spike_steps(c.post_ms)
            total = np.sum((1.0 - lam ** (T - pre)) / (1.0 - lam))
            lag = post[:, None] - pre[None, :]
            at_post = np.where(lag >= 0, lam ** np.maximum(lag, 0), 0.0).sum()
            out[k] = p["scale"] * (psi0 * total + (psi_spike - psi0) * at_post)
        return out

    def _step_loop(self, conditions) -> np.ndarray:
        p = self.params
        lam_pre, lam_e, lam_m = self._lambdas()
        T = n_steps(conditions)
        n = len(conditions)
        m = modulator_array(conditions, T)
        s_pre = np.zeros((T, n), bool)
        s_post = np.zeros((T, n), bool)
        for k, c in enumerate(conditions):
            s_pre[spike_steps(c.pre_ms), k] = True
            s_post[spike_steps(c.post_ms), k] = True
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


# ----------------------------------------------------------------------------- Clopath 2010
@dataclass(frozen=True)
class ClopathVoltage(Rule):
    name: str = "clopath"
    params: dict = field(default_factory=lambda: dict(
        **clopath_parameters("visual_cortex"), E_L_mV=-70.6, tau_m_ms=9.4, u_spike_mV=29.4,
        spike_width_ms=2.0, z_jump_mV=13.3, tau_z_ms=40.0))
    free: tuple = ("A_LTD_per_mV", "A_LTP_per_mV2")
    bounds: tuple = ((0, 0.1), (0, 0.1))

    def build_brian2(self, pre, post_spikes, conditions, clock, net, modulator):
        import brian2 as b2

        n = len(conditions)
        p = self.params
        ns = dict(E_L=p["E_L_mV"], u_spike=p["u_spike_mV"], tau_m=p["tau_m_ms"], tau_z=p["tau_z_ms"],
                  z_jump=p["z_jump_mV"], tau_minus=p["tau_minus_ms"], tau_plus=p["tau_plus_ms"],
                  theta_minus=p["theta_minus_mV"], theta_plus=p["theta_plus_mV"],
                  A_LTD=p["A_LTD_per_mV"], A_LTP=p["A_LTP_per_mV2"], tau_x=p["tau_x_ms"],
                  decay_x=math.exp(-DT_MS / p["tau_x_ms"]),
                  decay_z=math.exp(-DT_MS / p["tau_z_ms"]), dt_ms=DT_MS,
                  width=float(round(p["spike_width_ms"] / DT_MS)))
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
        start = np.where(clamped > 0, u_clamp, p["E_L_mV"])
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

    _MEMBRANE = ("theta_minus_mV", "theta_plus_mV", "tau_x_ms", "tau_minus_ms", "tau_plus_ms", "E_L_mV",
                 "tau_m_ms", "u_spike_mV", "spike_width_ms", "z_jump_mV", "tau_z_ms")

    def numpy_weight_changes(self, conditions) -> np.ndarray:
        """dw = -A_LTD * D + A_LTP * P: D and P depend on the spikes and the membrane only (cached)."""
        D, P = _clopath_terms(tuple(conditions), tuple((k, self.params[k]) for k in self._MEMBRANE))
        return -self.params["A_LTD_per_mV"] * D + self.params["A_LTP_per_mV2"] * P


@lru_cache(maxsize=64)
def _clopath_terms(conditions, membrane):
    """Depression D (sum over presynaptic spikes of [u_- - theta_-]_+) and potentiation P
    (sum over steps of dt xbar [u - theta_+]_+ [u_+ - theta_-]_+) with the Brian2 step order."""
    p = dict(membrane)
    T = n_steps(conditions)
    n = len(conditions)
    s_pre = np.zeros((T, n), bool)
    s_post = np.zeros((T, n), bool)
    for k, c in enumerate(conditions):
        s_pre[spike_steps(c.pre_ms), k] = True
        s_post[spike_steps(c.post_ms), k] = True
    width = float(round(p["spike_width_ms"] / DT_MS))
    decay_x = math.exp(-DT_MS / p["tau_x_ms"])
    decay_z = math.exp(-DT_MS / p["tau_z_ms"])
    E_L = p["E_L_mV"]
    clamped, u_clamp = clamp_arrays(conditions)
    u = np.where(clamped > 0, u_clamp, E_L)
    um = u.copy()
    up = u.copy()
    z = np.zeros(n)
    left = np.full(n, -1.0)
    xbar = np.zeros(n)
    D = np.zeros(n)
    P = np.zeros(n)
    tm, tmin, tplus = p["tau_m_ms"], p["tau_minus_ms"], p["tau_plus_ms"]
    for t in range(T):
        # synapses slot: forced postsynaptic spikes, then presynaptic LTD (Brian2 object order)
        post_now = s_post[t]
        if post_now.any():
            left = np.where(post_now, width, left)
            u = np.where(post_now, p["u_spike_mV"], u)
            z = z + p["z_jump_mV"] * post_now
        pre_now = s_pre[t]
        if pre_now.any():
            D += pre_now * np.maximum(um - p["theta_minus_mV"], 0)
            xbar = xbar + pre_now / p["tau_x_ms"]
        # end slot: LTP, trace decay, membrane
        P += DT_MS * xbar * np.maximum(u - p["theta_plus_mV"], 0) * np.maximum(up - p["theta_minus_mV"], 0)
        xbar = decay_x * xbar
        um = um + DT_MS * (u - um) / tmin
        up = up + DT_MS * (u - up) / tplus
        left = left - 1
        u = np.where(left > 0.5, p["u_spike_mV"],
                     np.where(np.abs(left) < 0.5, E_L, u + DT_MS * (E_L - u + z) / tm))
        u = clamped * u_clamp + (1 - clamped) * u
        z = decay_z * z
        left = np.clip(left, -1, width)
    return D, P


# ----------------------------------------------------------------------------- parameter tables
def _read_csv(name: str):
    from bioopzo.plasticity.datasets import read_table

    return read_table(name)


def pfister_gerstner_parameters(data_set: str = "visual_cortex", interaction: str = "all_to_all",
                                model: str = "full") -> dict:
    """A row of pfister_gerstner_2006_triplet_parameters.csv as rule parameters."""
    for row in _read_csv("pfister_gerstner_2006_triplet_parameters.csv"):
        if (row["data_set"], row["interaction"], row["model"]) == (data_set, interaction, model):
            out = {k: float(row[k]) if row[k] not in ("", None) else 0.0 for k in
                   ("tau_plus_ms", "tau_minus_ms", "tau_x_ms", "tau_y_ms", "A2_plus", "A3_plus",
                    "A2_minus", "A3_minus")}
            return out
    raise KeyError(f"no Pfister & Gerstner 2006 parameter set {data_set}/{interaction}/{model}")


def pair_window_time_constants() -> dict:
    """tau_plus, tau_minus (ms) of stdp_pair_window_time_constants.csv (16.8 and 33.7 ms); the triplet
    traces r2, o2 get the same values (unused by the pair rule, whose A3 are 0)."""
    rows = _read_csv("stdp_pair_window_time_constants.csv")
    values = {row["parameter"]: float(row["value"]) for row in rows}
    return {"tau_plus_ms": values["tau_plus"], "tau_minus_ms": values["tau_minus"],
            "tau_x_ms": values["tau_plus"], "tau_y_ms": values["tau_minus"]}


def clopath_parameters(data_set: str = "visual_cortex", allow_blank: bool = False) -> dict:
    """A row of clopath_2010_voltage_rule_parameters.csv. The hippocampal set has no tau_minus,
    tau_plus; with ``allow_blank`` they are left out (keep another set's values)."""
    for row in _read_csv("clopath_2010_voltage_rule_parameters.csv"):
        if row["data_set"] == data_set:
            if not row["tau_minus_ms"] and not allow_blank:
                raise KeyError(f"Clopath 2010 set {data_set!r} has no tau_minus/tau_plus; "
                               "use visual_cortex or somatosensory_cortex, or allow_blank=True")
            return {k: float(row[k]) for k in ("theta_minus_mV", "theta_plus_mV", "A_LTD_per_mV",
                                               "A_LTP_per_mV2", "tau_x_ms", "tau_minus_ms", "tau_plus_ms")
                    if row[k]}
    raise KeyError(f"no Clopath 2010 parameter set {data_set!r}")


def _opzo_eligibility():
    rule = OPZOSynapse(name="opzo_eligibility")
    # scale: a 0.3 s modulator pulse at the pairing gives dw_rel of about +0.35 (kappa 4, tau_pre 20 ms)
    return replace(rule, params={**rule.params, "tau_e_ms": 1000.0, "scale": 1e-5},
                   free=("scale", "tau_pre_ms", "kappa", "tau_e_ms"),
                   bounds=((-1.0, 1.0), (1.0, 200.0), (0.5, 40.0), (1.0, 20000.0)))


RULES = {
    "opzo": OPZOSynapse,
    "opzo_eligibility": _opzo_eligibility,
    "pair": PairSTDP,
    "triplet": TripletSTDP,
    "clopath": ClopathVoltage,
}


def make_rule(name: str) -> Rule:
    if name not in RULES:
        raise KeyError(f"unknown rule {name!r}; choose one of {', '.join(RULES)}")
    return RULES[name]()
