"""ZO: single-point zeroth-order node perturbation as a baseline.

No error vector reaches the hidden layers, only the scalar noisy loss:

    g_l[t] = (l(o~[t]) - b[t]) z_l[t] / alpha,     b <- beta b + (1 - beta) l(o~[t])

with b the running loss baseline before step t's loss is included. The readout
keeps one baseline share per unit (the loss is a sum over units), and a
readout-to-layer Synapses sums the units' advantages onto every neuron:
g_post = sum_i advantage_i * z_post / alpha. The readout weights still learn
from e[t], as in every rule.

NumPy reference (batch rows): advantage = sum_i (l_i - b_i) per sample, g_l =
advantage z_l / alpha, and the baseline shares move toward the batch mean of the
per-unit loss, b <- b + training (1 - beta) (mean l - b).

Operation counts (cost-model.md e.2): FB_l[t] = N_l (g_j = (l - b) z_j / alpha), one
scalar broadcast per step from the readout to every core of layer l; RNG[t] = N_l; third
factors of another rule's run: psi_l z_l with the recorded noise (else gaussian stand-in
noise), the scalar advantage taken as non-zero at every step.

Loihi learning engine: the forward term carries the scalar reward r (the advantage l - b,
broadcast; Loihi 1 reward channel r1), ``dw = -eta * u0 * x1 * y2 * y3 * r`` with
y2 = z_j / alpha; the readout term is shared (rules/engine_terms.py).
"""

from __future__ import annotations

import numpy as np

from bioopzo.rules.base import FeedbackContext, FeedbackPathway, LearningRule, StepSignals
from bioopzo.rules.counting import FeedbackTraffic
from bioopzo.rules.engine_terms import EngineRule, readout_term


class ZORule(LearningRule):
    name = "zo"
    needs_noise = True
    needs_loss_baseline = True

    def build_feedback(self, ctx: FeedbackContext, layer: int):
        syn = ctx.synapses(ctx.readout, layer,
                           "g_post = advantage_pre*z_post/noise_scale : 1 (summed)", "feedback_zo")
        return FeedbackPathway(syn, {})

    def reference_step_updates(self, step: StepSignals):
        b = step.state["loss_baseline"]
        decay = self.config.rule.baseline_decay
        return {"loss_baseline": b + step.training * (1 - decay) * (step.loss.mean(axis=0) - b)}

    def reference_signal(self, layer: int, step: StepSignals, upper):
        advantage = (step.loss - step.state["loss_baseline"]).sum(axis=1, keepdims=True)
        return advantage * step.z[layer] / self.config.noise.scale, {}

    @classmethod
    def third_factors(cls, act, notes):
        if act.noise is not None and all(np.any(z) for z in act.noise):
            notes.append("zo: factor-gated counts use the recorded noise z_l and psi_l; the scalar "
                         "advantage (l - b) is taken as non-zero at every step")
            return [p * z for p, z in zip(act.psi, act.noise)]
        rng = np.random.default_rng(7)
        notes.append("zo: no noise was recorded (evaluation run); its factor-gated counts use "
                     "gaussian stand-in noise")
        return [p * rng.standard_normal(p.shape) for p in act.psi]

    @classmethod
    def feedback_traffic(cls, sizes, error, deltas):
        L, m = len(sizes) - 2, sizes[-1]
        S = error.shape[0]
        ones = np.ones(S)
        # one scalar broadcast per hidden core, from the readout's first unit
        sender = np.tile(np.eye(1, m), (S, 1))
        out = []
        for l in range(1, L + 1):
            ops = float(sizes[l]) * ones
            out.append(FeedbackTraffic(l, L + 1, sender, ops, ops, ops))
        return out

    @classmethod
    def feedback_traffic_from_rates(cls, sizes, error_nonzero):
        L = len(sizes) - 2
        return [FeedbackTraffic(l, L + 1, 1, float(sizes[l]), float(sizes[l]), float(sizes[l]))
                for l in range(1, L + 1)]

    @classmethod
    def engine_terms(cls, gate="u0"):
        return [EngineRule(cls.name, "hidden W_l (l = 1..L)", f"-eta * {gate} * x1 * y2 * y3 * r",
                           {"x1": "presynaptic trace a_i", "y2": "noise z_j / alpha",
                            "y3": "surrogate psi_j(u_j)"},
                           "r: the scalar advantage l - b, broadcast (Loihi 1 reward channel r1)"),
                readout_term(cls.name, gate)]
