"""Energy and time per sample, per rule and phase (cost-model.md e.4), from event counts.

With e_k the profile's energy per event k (J) and counts per sample (counts.py):

    forward     = e_sop SOP_ac + e_sop_mac SOP_mac + e_nu_a NU_active + e_nu_i NU_inactive
                  + e_spike spikes(hidden)
    messages    = e_in_tile MSG_in_tile + e_msg_out MSG + e_EW hops_EW + e_NS hops_NS
                  (forward messages, plus feedback messages for the learning rules)
    feedback    = e_fb FB_ops + e_err ERR + e_rng RNG + e_trace (TR_pre + TR_post) + e_sg SG
    weight_updates           = c e_upd (UPD_W[mode, schedule] + WT[mode, schedule])   (WT: bp)
    feedback_matrix_updates  = c e_upd UPD_M                                           (opzo)
    memory      = e_rd MEM_rd + e_wr MEM_wr       (profiles with include_memory only), with
                  MEM_rd = SOP + FB_ops + U + NU,  MEM_wr = U + NU,  U = UPD_W + WT + UPD_M

c = ``rule_complexity`` (default 1.0, an assumption: the only published update cost is for a
two-term pairwise STDP rule). FB_ops is the rule's count: N_l nz(e) per step for opzo/dfa,
dense through W^T for bp, N_l per step for zo. ``inference`` is forward + forward messages.

Time per step t (profile times, cores from the mapping, each layer's load split evenly over
its cores):

    load_l[t] = (SOP_l t_sop + NU_a,l t_nu_a + NU_i,l t_nu_i + FB_l t_fb + U_l t_upd) / cores_l
    t_step    = max_l load_l[t] + t_barrier(n_tiles) + longest route at t
    bp adds (L - 1) backward sub-phases per step, each FB_l t_fb / cores_l + t_barrier + route,
    for l = L-1 .. 1 (the readout-to-top-layer transfer runs in the main phase, as for the
    direct rules).

Update events land on their step: every step, or the last step of each sample. Time per
sample = sum_t t_step / samples. Static power (profile ``static_power_per_chip``, a derived
figure) times that time is reported separately and never added to the totals.
"""

from __future__ import annotations

import math

import numpy as np

from bioopzo.cost.counts import MODES, SCHEDULES, EventCounts
from bioopzo.rules.registry import rule_class

__all__ = ["PHASES", "rule_energy", "inference_energy", "rule_time", "update_counts"]

PHASES = ("forward", "messages", "feedback", "weight_updates", "feedback_matrix_updates", "memory")


def _ps(counts: EventCounts, name: str, rule: str | None = None) -> float:
    table = counts.table(rule)
    return counts.per_sample(name, rule) if name in table else 0.0


def update_counts(counts: EventCounts, rule: str, mode: str, schedule: str) -> dict:
    """Per-sample UPD_W, WT and UPD_M of ``rule`` in ``mode`` and ``schedule``."""
    if mode not in MODES:
        raise ValueError(f"unknown update mode {mode!r}; choose one of {', '.join(MODES)}")
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    key = f"upd_w.{mode}.{schedule}"
    if key not in counts.table(rule):
        return {"upd_w": math.nan, "wt": math.nan, "upd_m": math.nan}
    return {"upd_w": _ps(counts, key, rule), "wt": _ps(counts, "wt" + key[5:], rule),
            "upd_m": _ps(counts, "upd_m", rule)}


def _forward_energy(counts: EventCounts, profile) -> tuple[float, float]:
    L = counts.n_hidden
    spikes = sum(counts.per_sample("spikes", None, f"hidden{l}") for l in range(1, L + 1))
    forward = (profile.synaptic_op_energy(False) * _ps(counts, "sop_effective_ac")
               + profile.synaptic_op_energy(True) * _ps(counts, "sop_effective_mac")
               + profile.e("neuron_update_active") * _ps(counts, "nu_active")
               + profile.e("neuron_update_inactive") * _ps(counts, "nu_inactive")
               + profile.e("spike") * spikes)
    messages = _message_energy(profile, *(_ps(counts, k) for k in ("msg_in_tile", "msg", "hops_ew",
                                                                   "hops_ns")))
    return forward, messages


def _message_energy(profile, in_tile, total, ew, ns) -> float:
    return (profile.e("message_in_tile") * in_tile + profile.e("message_out") * total
            + profile.e("hop_east_west") * ew + profile.e("hop_north_south") * ns)


def inference_energy(counts: EventCounts, profile) -> dict:
    forward, messages = _forward_energy(counts, profile)
    out = {p: 0.0 for p in PHASES}
    out.update(forward=forward, messages=messages)
    if profile.include_memory:
        nu = _ps(counts, "nu_active") + _ps(counts, "nu_inactive")
        out["memory"] = (profile.e("memory_read") * (_ps(counts, "sop_effective") + nu)
                         + profile.e("memory_write") * nu)
    out["total"] = sum(out[p] for p in PHASES)
    return out


def rule_energy(counts: EventCounts, rule: str, profile, mode: str = "dense",
                schedule: str = "step", rule_complexity: float = 1.0) -> dict:
    """Energy per sample (J) of training with ``rule``, by phase, plus ``total``."""
    if rule not in counts.rules:
        raise ValueError(f"no counts for rule {rule!r}; counted: {', '.join(counts.rules)}")
    forward, messages = _forward_energy(counts, profile)
    messages += _message_energy(profile, *(_ps(counts, k, rule) for k in
                                           ("fb_msg_in_tile", "fb_msg", "fb_hops_ew", "fb_hops_ns")))
    feedback = (profile.e("feedback_op") * _ps(counts, "fb_ops", rule)
                + profile.e("error_op") * _ps(counts, "err", rule)
                + profile.e("noise_draw") * _ps(counts, "rng", rule)
                + profile.e("trace_update") * (_ps(counts, "tr_pre", rule) + _ps(counts, "tr_post", rule))
                + profile.e("surrogate") * _ps(counts, "sg", rule))
    upd = update_counts(counts, rule, mode, schedule)
    e_upd = rule_complexity * profile.e("synaptic_update")
    out = {"forward": forward, "messages": messages, "feedback": feedback,
           "weight_updates": e_upd * (upd["upd_w"] + upd["wt"]),
           "feedback_matrix_updates": e_upd * upd["upd_m"], "memory": 0.0}
    if profile.include_memory:
        nu = _ps(counts, "nu_active") + _ps(counts, "nu_inactive")
        u = upd["upd_w"] + upd["wt"] + upd["upd_m"]
        out["memory"] = (profile.e("memory_read") * (_ps(counts, "sop_effective")
                                                     + _ps(counts, "fb_ops", rule) + u + nu)
                         + profile.e("memory_write") * (u + nu))
    out["total"] = sum(out[p] for p in PHASES)
    return out


def _steps(counts: EventCounts, name: str, rule: str | None, layer: str, n_steps: int) -> np.ndarray:
    table = counts.table(rule)
    if name in table and layer in table[name]:
        return np.asarray(table[name][layer], float)
    return np.zeros(n_steps)


def rule_time(counts: EventCounts, rule: str | None, profile, mode: str = "dense",
              schedule: str = "step") -> dict:
    """Time per sample (s): compute on the busiest core, barrier sync, routing, bp's backward
    sub-phases, and their ``total``; ``rule=None`` is inference only."""
    mapping = counts.mapping
    L = counts.n_hidden
    names = ["input", *[f"hidden{l}" for l in range(1, L + 1)], "readout"]
    S = len(counts.latency["forward"])
    loads = []
    backward = np.zeros(S)
    t_barrier = profile.barrier_time(mapping.n_tiles)
    for l in range(1, L + 2):
        name = names[l]
        load = (_steps(counts, "sop_effective", None, name, S) * profile.t("synaptic_op")
                + _steps(counts, "nu_active", None, name, S) * profile.t("neuron_update_active")
                + _steps(counts, "nu_inactive", None, name, S) * profile.t("neuron_update_inactive"))
        if rule is not None:
            fb = _steps(counts, "fb_ops", rule, name, S) * profile.t("feedback_op")
            if rule_class(rule).feedback_order == "top_down" and l < L:   # layer by layer
                route = counts.latency.get(f"{rule}:backward:{name}", np.zeros(S))
                backward += fb / mapping.cores_per_layer[l] + t_barrier + route
            else:
                load = load + fb
            key = f"{mode}.{schedule}"
            u = (_steps(counts, f"upd_w.{key}", rule, name, S) + _steps(counts, f"wt.{key}", rule, name, S)
                 + _steps(counts, "upd_m", rule, name, S))
            load = load + u * profile.t("synaptic_update")
        loads.append(load / mapping.cores_per_layer[l])
    compute = np.max(np.stack(loads), axis=0)
    route = counts.latency["forward"]
    if rule is not None:
        route = np.maximum(route, counts.latency.get(f"{rule}:feedback", np.zeros(S)))
    n = counts.n_samples
    out = {"compute": float(compute.sum()) / n, "barrier": t_barrier * S / n,
           "routing": float(route.sum()) / n, "backward_phases": float(backward.sum()) / n}
    out["total"] = sum(out.values())
    return out
