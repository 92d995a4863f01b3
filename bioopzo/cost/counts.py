"""Event counts per layer and per step (cost-model.md e.2), exact from recorded activity.

Notation: layers l = 0 (input), 1..L (hidden), L+1 (readout, m units); W_l maps layer l-1 to
layer l; x_l[t] is the activity layer l sends on at step t (spikes, or graded values with
direct input coding or output noise), a_l[t] its presynaptic trace, psi_l[t] the surrogate,
e[t] the output error and delta_l[t] = psi_l[t] g_l[t] the rule's modulator. nz(v) counts
non-zero entries; nnz_out(i, l) = #{j : W_l[j, i] != 0}. Per step t:

    spikes_l[t]          = nz(s_l[t])                                       (l = 0..L)
    SOP_l[t]             = sum_{i : x_{l-1,i}[t] != 0} nnz_out(i, l)         effective (NeuroBench)
    SOP_dense_l[t]       = N_{l-1} N_l                                       dense (NeuroBench)
    NU_active_l[t]       = #{j : some i with x_{l-1,i}[t] != 0 and W_l[j, i] != 0}
    NU_inactive_l[t]     = N_l - NU_active_l[t]                             (l = 1..L+1)
    MSG_l[t]             = sum_{i active} #(cores of layer l holding a j with W_l[j, i] != 0)
                           (one multicast message per destination core; split into in-tile
                           messages and east-west / north-south hops by the core mapping)

Learning counts, per rule, counted as if every recorded step were a training step:

    ERR[t] = m;  RNG[t] = sum_H N_l (rules that need noise);  SG[t] = sum_H N_l;
    TR_pre[t] = sum_{l=0..L} N_l;  TR_post[t] = sum_H N_l (number of y traces) + m
    FB_l[t]  feedback operations into layer l and its messages: the rule's feedback traffic
             (LearningRule.feedback_traffic; e.g. N_l nz(e[t]) for direct feedback of e),
             routed from the sending units over the core mapping
    UPD_W_l, three counting modes, two schedules (every step / once per sample):
       dense          N_l N_{l-1} per update event
       pre_gated      nz(x_{l-1}) N_l per event; once per sample: inputs active at least once
       factor_gated   nz(q(a_{l-1}[t])) nz(q(delta_l[t])) per step; once per sample:
                      #{(i, j) : a_i[t] delta_j[t] survives quantisation at some step t}
    WT             = UPD_W of W_2..W_{L+1} for rules that keep mirrored backward weights
    UPD_M etc.     writes to a rule's own learned feedback (LearningRule.feedback_update_counts)

delta_{L+1} = e for every rule (the readout learns from e). Quantisation q (caveat 7): a trace
counts as zero below trace_max / 2^bits, a modulator below max|delta_l| / 2^bits (bits =
``trace_bits`` of the profile; 7 on Loihi). The hidden modulators of the simulated rule are
the recorded delta_l; for the other rules the rule object recomputes them from the recorded
activity (LearningRule.third_factors; each rule module states how).
The rules counted by default are those whose ``counted`` attribute is set
(bioopzo.rules.registry.COUNTED_RULES). Top-down rules (``feedback_order``) send their
feedback layer by layer: each layer's route latency is kept apart.

Every count is stored per layer and per step; ``per_sample`` divides totals by the number of
samples. :func:`counts_from_rates` fills the same tables from average rates instead (the
worked example of cost-model.md e.5); its results say so in ``source``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bioopzo.cost.mapping import CoreMapping
from bioopzo.rules.registry import COUNTED_RULES, rule_class

__all__ = ["Activity", "EventCounts", "count_events", "counts_from_rates", "layer_names",
           "MODES", "SCHEDULES"]

MODES = ("dense", "pre_gated", "factor_gated")
SCHEDULES = ("step", "sample")


def layer_names(n_hidden: int) -> list[str]:
    return ["input", *[f"hidden{l}" for l in range(1, n_hidden + 1)], "readout"]


@dataclass
class Activity:
    """Per-step activity of S = n_samples x T steps, layer by layer (see module docstring).

    ``x``, ``spikes`` and ``traces`` hold layers 0..L as (S, N_l) arrays; ``psi``, ``delta``
    and ``noise`` hidden layers 1..L; ``error`` is (S, m); ``weights`` are W_1..W_{L+1} as
    (N_l, N_{l-1}) matrices.
    """

    sizes: tuple
    weights: list
    steps_per_sample: int
    x: list
    spikes: list
    traces: list
    psi: list
    error: np.ndarray
    delta: list | None = None
    noise: list | None = None
    rule: str = ""
    feedback: dict = field(default_factory=dict)
    trace_max: float = 2.0
    training: bool = False
    source: str = ""
    notes: list = field(default_factory=list)

    def __post_init__(self):
        sizes = tuple(int(n) for n in self.sizes)
        self.sizes = sizes
        L = len(sizes) - 2
        S = np.asarray(self.error).shape[0]
        T = int(self.steps_per_sample)
        if T < 1 or S % T:
            raise ValueError(f"{S} recorded steps are not a whole number of {T}-step samples")

        def check(arrays, layers, what):
            if len(arrays) != len(layers):
                raise ValueError(f"{what}: expected {len(layers)} layers, got {len(arrays)}")
            out = []
            for a, l in zip(arrays, layers):
                a = np.asarray(a, dtype=float)
                if a.shape != (S, sizes[l]):
                    raise ValueError(f"{what} of layer {l}: shape {a.shape}, expected {(S, sizes[l])}")
                out.append(a)
            return out

        self.x = check(self.x, range(L + 1), "x")
        self.spikes = check(self.spikes, range(L + 1), "spikes")
        self.traces = check(self.traces, range(L + 1), "traces")
        self.psi = check(self.psi, range(1, L + 1), "psi")
        if self.delta is not None:
            self.delta = check(self.delta, range(1, L + 1), "delta")
        if self.noise is not None:
            self.noise = check(self.noise, range(1, L + 1), "noise")
        self.error = np.asarray(self.error, dtype=float)
        if self.error.shape != (S, sizes[-1]):
            raise ValueError(f"error: shape {self.error.shape}, expected {(S, sizes[-1])}")
        if len(self.weights) != L + 1:
            raise ValueError(f"expected {L + 1} weight matrices, got {len(self.weights)}")
        self.weights = [np.asarray(w, dtype=float) for w in self.weights]
        for l, w in enumerate(self.weights, start=1):
            if w.shape != (sizes[l], sizes[l - 1]):
                raise ValueError(f"W_{l}: shape {w.shape}, expected {(sizes[l], sizes[l - 1])}")

    @property
    def n_steps(self) -> int:
        return self.error.shape[0]

    @property
    def n_samples(self) -> int:
        return self.n_steps // self.steps_per_sample


@dataclass
class EventCounts:
    """Counts per name, per layer, per step: ``table[name][layer]`` is an (S,) array."""

    sizes: tuple
    steps_per_sample: int
    n_samples: int
    mapping: CoreMapping
    forward: dict = field(default_factory=dict)
    rules: dict = field(default_factory=dict)       # rule -> {name: {layer: (S,)}}
    latency: dict = field(default_factory=dict)     # per-step longest route (s) per path
    notes: list = field(default_factory=list)
    source: str = ""
    trace_bits: int = 7
    zero_weights: int = 0          # forward weights that are exactly zero

    @property
    def n_hidden(self) -> int:
        return len(self.sizes) - 2

    def table(self, rule: str | None = None) -> dict:
        return self.forward if rule is None else self.rules[rule]

    def total(self, name: str, rule: str | None = None, layer: str | None = None) -> float:
        entries = self.table(rule)[name]
        if layer is not None:
            return float(np.sum(entries[layer]))
        return float(sum(np.sum(v) for v in entries.values()))

    def per_sample(self, name: str, rule: str | None = None, layer: str | None = None) -> float:
        return self.total(name, rule, layer) / self.n_samples

    def has(self, name: str, rule: str | None = None) -> bool:
        return name in self.table(rule)

    def per_step_in_sample(self, name: str, rule: str | None = None) -> dict:
        """{layer: (T,) totals over samples at each step k of a sample}."""
        T = self.steps_per_sample
        return {layer: np.asarray(v).reshape(-1, T).sum(axis=0)
                for layer, v in self.table(rule)[name].items()}

    def to_dict(self) -> dict:
        """Every count: per sample, per layer, and per step within a sample (summed over samples)."""
        def dump(table):
            out = {}
            for name, layers in table.items():
                out[name] = {
                    "per_sample": sum(float(np.sum(v)) for v in layers.values()) / self.n_samples,
                    "per_layer_per_sample": {k: float(np.sum(v)) / self.n_samples
                                             for k, v in layers.items()},
                    "per_layer_per_step": {k: np.asarray(v).reshape(-1, self.steps_per_sample)
                                           .sum(axis=0).tolist() for k, v in layers.items()},
                }
            return out

        return {"source": self.source, "sizes": list(self.sizes), "n_samples": self.n_samples,
                "zero_weights": self.zero_weights,
                "steps_per_sample": self.steps_per_sample, "trace_bits": self.trace_bits,
                "core_mapping": {"cores_per_layer": list(self.mapping.cores_per_layer),
                                 "n_cores": self.mapping.n_cores, "n_tiles": self.mapping.n_tiles,
                                 "description": self.mapping.describe()},
                "notes": list(self.notes), "forward": dump(self.forward),
                "rules": {r: dump(t) for r, t in self.rules.items()}}


# ------------------------------------------------------------------ routing tables
def _route_tables(mapping: CoreMapping, src_layer: int, dst_layer: int, reach: np.ndarray, profile):
    """Per source neuron: messages, in-tile messages, E-W hops, N-S hops, longest latency.

    ``reach`` is (N_src, cores of dst_layer) boolean: neuron i sends to that core.
    """
    src = mapping.neuron_core[src_layer][:, None]
    dst = mapping.layer_core_ids(dst_layer)[None, :]
    ew, ns, same = mapping.hops(np.broadcast_to(src, reach.shape), np.broadcast_to(dst, reach.shape))
    latency = np.where(same == 1, profile.t("message_in_tile"),
                       ew * profile.t("hop_east_west") + ns * profile.t("hop_north_south"))
    r = reach.astype(float)
    return {"messages": r.sum(1), "in_tile": (r * same).sum(1), "hops_ew": (r * ew).sum(1),
            "hops_ns": (r * ns).sum(1), "latency": (r * latency).max(1, initial=0.0)}


def _core_reach(nz_w: np.ndarray, mapping: CoreMapping, dst_layer: int) -> np.ndarray:
    """(N_pre, cores) boolean: pre neuron i has a non-zero weight onto some neuron of the core."""
    cores = mapping.neuron_core[dst_layer] - mapping.layer_core_ids(dst_layer)[0]
    reach = np.zeros((nz_w.shape[1], mapping.cores_per_layer[dst_layer]), dtype=bool)
    for c in range(mapping.cores_per_layer[dst_layer]):
        reach[:, c] = nz_w[cores == c].any(axis=0)
    return reach


def _messages(active: np.ndarray, tables: dict) -> dict:
    """Per-step message counts from (S, N_src) activity indicators (or probabilities)."""
    out = {k: active @ tables[k] for k in ("messages", "in_tile", "hops_ew", "hops_ns")}
    out["latency"] = np.max(np.where(active > 0, tables["latency"][None, :], 0.0), axis=1,
                            initial=0.0)
    return out


# --------------------------------------------------------------------- third factors
def _third_factors(act: Activity, rule, notes: list) -> list:
    """Hidden modulators delta_l (S, N_l) of ``rule``: recorded for the simulated rule,
    else recomputed by the rule object (see the module docstring)."""
    if act.delta is not None and rule.name == act.rule:
        return act.delta
    return rule.third_factors(act, notes)


def _quantised(values: np.ndarray, full_scale: float, bits: int) -> np.ndarray:
    """Non-zero after quantisation to ``bits`` over ``full_scale`` (exactly non-zero if bits >= 24)."""
    values = np.abs(values)
    if bits >= 24 or full_scale <= 0:
        return values > 0
    return values >= full_scale / 2.0 ** bits


# ---------------------------------------------------------------------- the counts
def _at_sample_end(per_sample: np.ndarray, T: int) -> np.ndarray:
    out = np.zeros(len(per_sample) * T)
    out[T - 1::T] = per_sample
    return out


def count_events(act: Activity, mapping: CoreMapping, profile, *, rules=COUNTED_RULES,
                 quantise: bool = True, progress=None) -> EventCounts:
    """Exact event counts of ``act`` under ``mapping`` for each rule in ``rules``;
    ``progress`` (a :class:`bioopzo.options.Progress`) is told which rule is counted."""
    sizes, T, S = act.sizes, act.steps_per_sample, act.n_steps
    L = len(sizes) - 2
    names = layer_names(L)
    bits = int(profile.arch("trace_bits")) if quantise else 64
    res = EventCounts(sizes, T, act.n_samples, mapping, source=act.source, trace_bits=bits,
                      zero_weights=int(sum(np.count_nonzero(w == 0) for w in act.weights)))
    active = [(x != 0).astype(float) for x in act.x]
    nz_w = [(w != 0) for w in act.weights]
    fwd: dict = {k: {} for k in ("spikes", "activations", "sop_effective", "sop_effective_ac",
                                 "sop_effective_mac", "sop_dense", "nu_active", "nu_inactive",
                                 "msg", "msg_in_tile", "hops_ew", "hops_ns")}
    latency_fwd = np.zeros(S)
    for l in range(L + 1):
        fwd["spikes"][names[l]] = (act.spikes[l] != 0).sum(1).astype(float)
        fwd["activations"][names[l]] = active[l].sum(1)
    for l in range(1, L + 2):
        pre = active[l - 1]
        nnz_out = nz_w[l - 1].sum(axis=0).astype(float)
        sop = pre @ nnz_out
        graded = np.any((act.x[l - 1] != 0) & (np.abs(act.x[l - 1]) != 1), axis=1)
        fwd["sop_effective"][names[l]] = sop
        fwd["sop_effective_ac"][names[l]] = np.where(graded, 0.0, sop)
        fwd["sop_effective_mac"][names[l]] = np.where(graded, sop, 0.0)
        fwd["sop_dense"][names[l]] = np.full(S, float(sizes[l - 1] * sizes[l]))
        driven = (pre @ nz_w[l - 1].T.astype(float)) > 0
        fwd["nu_active"][names[l]] = driven.sum(1).astype(float)
        fwd["nu_inactive"][names[l]] = sizes[l] - fwd["nu_active"][names[l]]
        tables = _route_tables(mapping, l - 1, l, _core_reach(nz_w[l - 1], mapping, l), profile)
        msg = _messages(pre, tables)
        fwd["msg"][names[l]] = msg["messages"]
        fwd["msg_in_tile"][names[l]] = msg["in_tile"]
        fwd["hops_ew"][names[l]] = msg["hops_ew"]
        fwd["hops_ns"][names[l]] = msg["hops_ns"]
        latency_fwd = np.maximum(latency_fwd, msg["latency"])
    res.forward = fwd
    res.latency["forward"] = latency_fwd
    res.notes.extend(act.notes)
    for k, name in enumerate(rules, 1):
        if progress is not None:
            progress.step(f"counting events for {name}", k, len(rules))
        res.rules[name] = _rule_counts(act, rule_class(name), mapping, profile, active, bits, res)
    return res


def _post_traces(rule) -> int:
    """Postsynaptic traces per hidden neuron that the rule's engine terms use."""
    post = set()
    for er in rule.engine_terms():
        if not er.target.startswith("readout"):
            post.update(er.post_traces)
    return len(post)


def _rule_counts(act, rule, mapping, profile, active, bits, res) -> dict:
    sizes, T, S = act.sizes, act.steps_per_sample, act.n_steps
    L = len(sizes) - 2
    m = sizes[-1]
    names = layer_names(L)
    hidden = names[1:L + 1]
    ones = np.ones(S)
    c: dict = {}
    c["err"] = {"readout": m * ones}
    c["rng"] = {h: (sizes[l] * ones if rule.needs_noise else 0 * ones)
                for l, h in enumerate(hidden, start=1)}
    c["sg"] = {h: sizes[l] * ones for l, h in enumerate(hidden, start=1)}
    c["tr_pre"] = {names[l]: sizes[l] * ones for l in range(L + 1)}
    post = _post_traces(rule)
    c["tr_post"] = {**{h: post * sizes[l] * ones for l, h in enumerate(hidden, start=1)},
                    "readout": m * ones}
    fb, fb_dense, fb_eff = {}, {}, {}
    fb_msg = {k: {} for k in ("msg", "msg_in_tile", "hops_ew", "hops_ns")}
    latency_fb = np.zeros(S)
    latency_backward = {}
    top_down = rule.feedback_order == "top_down"
    deltas = _third_factors(act, rule, res.notes)
    for traffic in rule.feedback_traffic(sizes, act.error, deltas):
        l, h = traffic.layer, names[traffic.layer]
        fb[h], fb_dense[h], fb_eff[h] = traffic.ops, traffic.ops_dense, traffic.ops_effective
        reach = np.ones((sizes[traffic.source], mapping.cores_per_layer[l]), dtype=bool)
        msg = _messages(traffic.senders, _route_tables(mapping, traffic.source, l, reach, profile))
        for k, key in (("msg", "messages"), ("msg_in_tile", "in_tile"), ("hops_ew", "hops_ew"),
                       ("hops_ns", "hops_ns")):
            fb_msg[k][h] = msg[key]
        if top_down:      # layer by layer: each hop of the backward sweep has its own latency
            latency_backward[h] = msg["latency"]
        else:
            latency_fb = np.maximum(latency_fb, msg["latency"])
    if top_down:
        latency_fb = latency_backward[names[L]]
    c["fb_ops"], c["fb_ops_dense"], c["fb_ops_effective"] = fb, fb_dense, fb_eff
    for k, v in fb_msg.items():
        c[f"fb_{k}"] = v
    res.latency[f"{rule.name}:feedback"] = latency_fb
    for h, lat in latency_backward.items():
        res.latency[f"{rule.name}:backward:{h}"] = lat
    # ---- weight updates
    trace_q = [_quantised(a, act.trace_max, bits) for a in act.traces]
    mods = [*deltas, act.error]          # delta_1..delta_L, e (readout)
    mod_q = [_quantised(d, float(np.max(np.abs(d))) if d.size else 0.0, bits) for d in mods]
    upd = {f"upd_w.{mode}.{sched}": {} for mode in MODES for sched in SCHEDULES}
    n = act.n_samples
    for l in range(1, L + 2):
        name = names[l]
        n_syn = float(sizes[l] * sizes[l - 1])
        upd["upd_w.dense.step"][name] = n_syn * ones
        upd["upd_w.dense.sample"][name] = _at_sample_end(np.full(n, n_syn), T)
        pre = active[l - 1]
        upd["upd_w.pre_gated.step"][name] = pre.sum(1) * sizes[l]
        any_pre = pre.reshape(n, T, -1).max(axis=1)
        upd["upd_w.pre_gated.sample"][name] = _at_sample_end(any_pre.sum(1) * sizes[l], T)
        aq = trace_q[l - 1].astype(float)
        dq = mod_q[l - 1].astype(float)
        upd["upd_w.factor_gated.step"][name] = aq.sum(1) * dq.sum(1)
        a3, d3 = aq.reshape(n, T, -1), dq.reshape(n, T, -1)
        pairs = np.array([np.count_nonzero(d3[s].T @ a3[s]) for s in range(n)], dtype=float)
        upd["upd_w.factor_gated.sample"][name] = _at_sample_end(pairs, T)
    c.update(upd)
    if rule.transports_weights:    # mirrors of W_2..W_{L+1}, stored on the cores of the layer below
        for key in upd:
            c["wt" + key[5:]] = {names[l - 1]: upd[key][names[l]] for l in range(2, L + 2)}
    for key, per_layer in rule.feedback_update_counts(sizes).items():
        c[key] = {names[l]: n * ones for l, n in per_layer.items()}
    return c


# ------------------------------------------------------------------- rate-based counts
def counts_from_rates(sizes, rates, steps_per_sample: int, profile, mapping: CoreMapping,
                      *, rules=COUNTED_RULES, error_nonzero: int | None = None) -> EventCounts:
    """Expected counts of one sample from average spike rates (dense connectivity).

    ``rates[l]`` is the spike probability per neuron and step of layer l (input, hidden...,
    output); the output rate only enters the spike count (the readout sends nothing on).
    The error vector has ``error_nonzero`` non-zero entries per step (default m: dense).
    Factor-gated counts need the traces and modulators themselves, so they are absent here.
    """
    sizes = tuple(int(n) for n in sizes)
    T = int(steps_per_sample)
    L = len(sizes) - 2
    names = layer_names(L)
    m = sizes[-1]
    nnz_e = m if error_nonzero is None else int(error_nonzero)
    if len(rates) != len(sizes):
        raise ValueError(f"give one rate per layer ({len(sizes)}), got {len(rates)}")
    ones = np.ones(T)
    res = EventCounts(sizes, T, 1, mapping,
                      source="expected counts from average rates (not recorded; cost-model.md e.5 "
                             "convention)", trace_bits=int(profile.arch("trace_bits")))
    fwd: dict = {k: {} for k in ("spikes", "activations", "sop_effective", "sop_effective_ac",
                                 "sop_effective_mac", "sop_dense", "nu_active", "nu_inactive",
                                 "msg", "msg_in_tile", "hops_ew", "hops_ns")}
    latency = np.zeros(T)
    for l in range(L + 2):
        fwd["spikes"][names[l]] = rates[l] * sizes[l] * ones
        if l <= L:
            fwd["activations"][names[l]] = rates[l] * sizes[l] * ones
    for l in range(1, L + 2):
        r = rates[l - 1]
        sop = r * sizes[l - 1] * sizes[l] * ones
        fwd["sop_effective"][names[l]] = sop
        fwd["sop_effective_ac"][names[l]] = sop
        fwd["sop_effective_mac"][names[l]] = 0 * ones
        fwd["sop_dense"][names[l]] = float(sizes[l - 1] * sizes[l]) * ones
        p_driven = 1.0 - (1.0 - r) ** sizes[l - 1]
        fwd["nu_active"][names[l]] = p_driven * sizes[l] * ones
        fwd["nu_inactive"][names[l]] = (1 - p_driven) * sizes[l] * ones
        reach = np.ones((sizes[l - 1], mapping.cores_per_layer[l]), dtype=bool)
        tables = _route_tables(mapping, l - 1, l, reach, profile)
        for k, key in (("msg", "messages"), ("msg_in_tile", "in_tile"), ("hops_ew", "hops_ew"),
                       ("hops_ns", "hops_ns")):
            fwd[k][names[l]] = r * float(np.sum(tables[key])) * ones
        if r > 0:
            latency = np.maximum(latency, float(np.max(tables["latency"])))
    res.forward = fwd
    res.latency["forward"] = latency
    hidden = names[1:L + 1]
    for name in rules:
        rule = rule_class(name)
        c: dict = {"err": {"readout": m * ones}}
        c["rng"] = {h: (sizes[l] if rule.needs_noise else 0) * ones
                    for l, h in enumerate(hidden, 1)}
        c["sg"] = {h: sizes[l] * ones for l, h in enumerate(hidden, 1)}
        c["tr_pre"] = {names[l]: sizes[l] * ones for l in range(L + 1)}
        post = _post_traces(rule)
        c["tr_post"] = {**{h: post * sizes[l] * ones for l, h in enumerate(hidden, 1)},
                        "readout": m * ones}
        fb, dense, effective, msgs = {}, {}, {}, {}
        for traffic in rule.feedback_traffic_from_rates(sizes, nnz_e):
            h = names[traffic.layer]
            fb[h] = float(traffic.ops) * ones
            dense[h] = float(traffic.ops_dense) * ones
            effective[h] = float(traffic.ops_effective) * ones
            msgs[h] = float(traffic.senders * mapping.cores_per_layer[traffic.layer]) * ones
        c["fb_ops"], c["fb_ops_dense"], c["fb_ops_effective"] = fb, dense, effective
        c["fb_msg"] = msgs
        zeros = {h: 0 * ones for h in msgs}
        c["fb_msg_in_tile"], c["fb_hops_ew"], c["fb_hops_ns"] = zeros, dict(zeros), dict(zeros)
        for l in range(1, L + 2):
            n_syn = float(sizes[l] * sizes[l - 1])
            r = rates[l - 1]
            c.setdefault("upd_w.dense.step", {})[names[l]] = n_syn * ones
            c.setdefault("upd_w.dense.sample", {})[names[l]] = _at_sample_end(np.array([n_syn]), T)
            c.setdefault("upd_w.pre_gated.step", {})[names[l]] = r * n_syn * ones
            c.setdefault("upd_w.pre_gated.sample", {})[names[l]] = _at_sample_end(
                np.array([(1 - (1 - r) ** T) * n_syn]), T)
        if rule.transports_weights:
            for key in [k for k in c if k.startswith("upd_w.")]:
                c["wt" + key[5:]] = {names[l - 1]: c[key][names[l]] for l in range(2, L + 2)}
        for key, per_layer in rule.feedback_update_counts(sizes).items():
            c[key] = {names[l]: n * ones for l, n in per_layer.items()}
        res.rules[name] = c
        res.latency[f"{name}:feedback"] = np.zeros(T)
    res.notes.append("feedback message hops are not modelled from rates; factor-gated counts "
                     "need recorded traces and are absent")
    return res
