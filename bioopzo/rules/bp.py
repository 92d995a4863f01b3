"""Online spatial backpropagation (OTTT's instantaneous spatial gradient).

Within one step, from the top down:

    g_L[t] = W_o^T e[t],    g_l[t] = W_{l+1}^T delta_{l+1}[t],    delta_l = psi_l g_l

Weight transport is explicit: the pathway onto layer l is a Synapses from the
layer above (or the readout) back onto l, holding a copy W_T of W_{l+1}^T that
starts equal to it and is updated by the same clock-driven rule from the same
factors (delta of the upper layer, trace of layer l), on the same schedule
(once per sample for the accumulated schedules, in the forward matrix's form:
its sample_updates and active forms run as on_post pathways on layer l's events,
adding the same products in the same order), so it stays equal to it.
The copy is re-synchronised from the forward weights at every epoch start.
The summed variable is ``g_post = w_T*delta_pre``; a subclass that feeds back a
function of the transported weights (sign-symmetric feedback) changes
``transported`` (Brian2 expression) and ``feedback_weights`` (NumPy) only.

NumPy reference (batch rows): g_l = delta_{l+1} W_{l+1} (delta_{L+1} = e).

Operation counts (cost-model.md e.2): the feedback into layer l goes through W_{l+1}^T,
FB_l[t] = N_{l+1} N_l (effective: nz(delta_{l+1}[t]) N_l), its messages sent by the
units of layer l+1 with delta != 0, layer by layer within the step; WT = the updates of
the mirrored W_2..W_{L+1}; third factors of another rule's run recomputed exactly,
delta_l = psi_l (delta_{l+1} W_{l+1}). Extra storage: the mirrors.

Loihi learning engine: the shared forward term with y2 = g_j = (W_{l+1}^T delta_{l+1})_j,
the readout term, and the mirror's update repeating the forward rule on the transposed
synapses, ``dw = -eta * u0 * x1 * y2`` (x1: trace of the lower layer's neuron, y2: delta
of the upper layer).
"""

from __future__ import annotations

import numpy as np

from bioopzo.rules.base import FeedbackContext, FeedbackPathway, LearningRule, StepSignals
from bioopzo.rules.counting import FeedbackTraffic
from bioopzo.rules.engine_terms import EngineRule, forward_term, readout_term
from bioopzo.schedule import no_delays, schedule_sample_updates
from bioopzo.updates import (sample_pathways, sample_update_equations, three_factor_gradient,
                             update_equations)


class BPRule(LearningRule):
    name = "bp"
    feedback_order = "top_down"
    transports_weights = True
    #: Brian2 expression of the fed-back weight in terms of the transported copy w_T
    transported = "w_T"
    #: what g_j is, in the learning-engine table
    signal_text = "backpropagated g_j = (W_{l+1}^T delta_{l+1})_j"
    #: what the mirror's writes transport, in the learning-engine table
    transport_text = "keeps the backward copy equal to the forward weights"

    @staticmethod
    def feedback_weights(W: np.ndarray) -> np.ndarray:
        """The matrix fed back in place of W_{l+1} (NumPy form of ``transported``)."""
        return W

    def build_feedback(self, ctx: FeedbackContext, layer: int):
        L = len(ctx.layers)
        upper = ctx.readout if layer == L - 1 else ctx.layers[layer + 1]
        forward = ctx.forward[layer + 1]
        rate = "eta_readout" if layer == L - 1 else "eta_hidden"
        opt = self.config.optimizer
        form = ctx.update_forms[layer + 1] if ctx.update_forms else None
        sides = {"modulated": "pre", "traced": "post"}
        if form:
            sample_updates = sample_pathways(form, "w_T", opt, ctx.steps, rate, **sides)
            updates = sample_update_equations(form, "w_T", opt, ctx.steps, rate, "apply_pre", **sides)
        else:
            sample_updates = {}
            updates = update_equations("w_T", three_factor_gradient(opt, ctx.steps, **sides),
                                       "apply_pre", rate, opt)
        model = f"g_post = {self.transported}*delta_pre : 1 (summed)\n" + updates
        pathways = {}
        if sample_updates:
            pathways = {"on_post": sample_updates, "on_event": {n: n for n in sample_updates},
                        "delay": no_delays(sample_updates)}
        syn = ctx.synapses(upper, layer, model, f"feedback_{self.name}", method="euler",
                           dt=ctx.update_dt, **pathways)
        if opt.schedule != "step":
            schedule_sample_updates(syn, tuple(sample_updates))
        # loaded from the forward synapses' saved state, in the transposed layout
        return FeedbackPathway(syn, {}, mirror_of=forward)

    def reference_signal(self, layer: int, step: StepSignals, upper):
        L = len(self.config.network.hidden)
        W_above = step.state["Wout"] if layer == L - 1 else step.state[f"W{layer + 2}"]
        return upper @ self.feedback_weights(W_above), {}

    @classmethod
    def third_factors(cls, act, notes):
        L = len(act.sizes) - 2
        deltas = [None] * L
        upper = act.error
        for l in range(L, 0, -1):
            deltas[l - 1] = act.psi[l - 1] * (upper @ cls.feedback_weights(act.weights[l]))
            upper = deltas[l - 1]
        return deltas

    @classmethod
    def feedback_traffic(cls, sizes, error, deltas):
        L = len(sizes) - 2
        ones = np.ones(error.shape[0])
        upper_active = (error != 0).astype(float)
        out = []
        for l in range(L, 0, -1):     # from layer l+1 (readout when l = L) into hidden l
            ops = float(sizes[l + 1] * sizes[l]) * ones
            out.append(FeedbackTraffic(l, l + 1, upper_active, ops, ops,
                                       upper_active.sum(1) * sizes[l]))
            upper_active = (deltas[l - 1] != 0).astype(float)
        return out

    @classmethod
    def feedback_traffic_from_rates(cls, sizes, error_nonzero):
        L = len(sizes) - 2
        out = []
        for l in range(1, L + 1):
            ops = float(sizes[l + 1] * sizes[l])
            out.append(FeedbackTraffic(l, l + 1, sizes[l + 1], ops, ops, ops))
        return out

    @classmethod
    def feedback_storage(cls, sizes):
        return sum(sizes[l] * sizes[l - 1] for l in range(2, len(sizes)))

    @classmethod
    def engine_terms(cls, gate="u0"):
        return [forward_term(cls.name, cls.signal_text, gate), readout_term(cls.name, gate),
                EngineRule(cls.name, "mirrored W_{l+1}^T (weight transport, l = 1..L)",
                           f"-eta * {gate} * x1 * y2",
                           {"x1": "trace of the lower layer's neuron (post side of the mirror)",
                            "y2": "delta of the upper layer (pre side of the mirror)"},
                           cls.transport_text)]
