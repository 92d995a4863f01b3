"""Each rule's updates in Loihi learning-engine terms (cost-model.md b).

Loihi's learning engine changes a synaptic variable Z (weight w, tag t) by a sum of product
terms, each a scale constant times a product of factors (traces, variables, constants),
evaluated under a dependency: ``x0`` (presynaptic spike in the epoch), ``y0`` (postsynaptic
spike) or ``u0`` (unconditionally, every epoch). Traces: x1, x2 (presynaptic, per axon),
y1, y2, y3 (postsynaptic, per neuron; on Loihi 2 y2/y3 are written by the neuron's
microcode, which is how per-neuron third factors reach the synapses). The rule objects
below are modelled on Lava's ``LearningRule`` (a ``dw`` string of products, its traces).

bioopzo's shared three-factor update, in these terms (per plastic synapse i -> j):

    dW_ij = -eta a_i[t] psi_j[t] g_j[t]      ->   dw = -eta * u0 * x1 * y2 * y3
              x1 = a_i (presynaptic trace, decay lambda, impulse 1 per spike)
              y2 = g_j (top-down signal),  y3 = psi_j (surrogate)
    readout:  dw = -eta * u0 * x1 * y2,  y2 = e_j

with ``u0`` replaced by ``x0`` in the presynaptically gated counting mode. OPZO's feedback
matrix M_l (synapse from readout unit i to hidden neuron j) is a two-term rule,

    dM_ji = (1 - rho) (z_j o~_i - M_ji)     ->   dw = c * u0 * x1 * y1 - c * u0 * w,  c = 1 - rho
              x1 = o~_i (graded readout activity), y1 = z_j (the neuron's own noise)

BP's mirrored weights (weight transport) repeat the forward rule on the transposed synapses,
and ZO's single-point rule needs a scalar reward r (the advantage l - b, broadcast):
``dw = -eta * u0 * x1 * y2 * y3 * r`` with y2 = z_j / alpha.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EngineRule", "engine_rules", "ENGINE_RULE_NAMES"]

ENGINE_RULE_NAMES = ("opzo", "bp", "dfa", "zo")


@dataclass(frozen=True)
class EngineRule:
    """One learning-engine rule on one kind of synapse."""

    rule: str            # opzo, bp, dfa, zo
    target: str          # which synapses it changes
    dw: str              # sum-of-products expression (Lava notation)
    traces: dict         # trace name -> what it holds
    note: str = ""

    @property
    def product_terms(self) -> int:
        """Number of product terms: top-level sums and differences (outside parentheses)."""
        depth, terms = 0, 1
        text = self.dw.strip().lstrip("-+ ")
        for k, ch in enumerate(text):
            depth += (ch == "(") - (ch == ")")
            if depth == 0 and ch in "+-" and text[k - 1:k] == " " and text[k + 1:k + 2] == " ":
                terms += 1
        return terms

    @property
    def post_traces(self) -> tuple:
        return tuple(k for k in self.traces if k.startswith("y"))

    @property
    def pre_traces(self) -> tuple:
        return tuple(k for k in self.traces if k.startswith("x"))


def _forward(rule: str, g_meaning: str, gate: str) -> EngineRule:
    return EngineRule(rule, "hidden W_l (l = 1..L)", f"-eta * {gate} * x1 * y2 * y3",
                      {"x1": "presynaptic trace a_i (decay lambda, +1 per spike)",
                       "y2": g_meaning, "y3": "surrogate psi_j(u_j)"})


def engine_rules(rule: str, gate: str = "u0") -> list[EngineRule]:
    """The engine rules ``rule`` needs, hidden forward weights first; ``gate`` is u0 or x0."""
    readout = EngineRule(rule, "readout W_o", f"-eta * {gate} * x1 * y2",
                         {"x1": "presynaptic trace a_i of the last hidden layer",
                          "y2": "output error e_j (third factor)"})
    if rule == "opzo":
        return [_forward("opzo", "top-down signal g_j = (M_l e)_j", gate), readout,
                EngineRule("opzo", "feedback M_l (readout -> hidden)",
                           "(1 - rho) * u0 * x1 * y1 - (1 - rho) * u0 * w",
                           {"x1": "noisy readout activity o~_i (graded)",
                            "y1": "the neuron's own noise z_j"},
                           "every training step, whatever the weight schedule")]
    if rule == "dfa":
        return [_forward("dfa", "top-down signal g_j = (B_l e)_j", gate), readout]
    if rule == "bp":
        return [_forward("bp", "backpropagated g_j = (W_{l+1}^T delta_{l+1})_j", gate), readout,
                EngineRule("bp", "mirrored W_{l+1}^T (weight transport, l = 1..L)",
                           f"-eta * {gate} * x1 * y2",
                           {"x1": "trace of the lower layer's neuron (post side of the mirror)",
                            "y2": "delta of the upper layer (pre side of the mirror)"},
                           "keeps the backward copy equal to the forward weights")]
    if rule == "zo":
        return [EngineRule("zo", "hidden W_l (l = 1..L)", f"-eta * {gate} * x1 * y2 * y3 * r",
                           {"x1": "presynaptic trace a_i", "y2": "noise z_j / alpha",
                            "y3": "surrogate psi_j(u_j)"},
                           "r: the scalar advantage l - b, broadcast (Loihi 1 reward channel r1)"),
                readout]
    raise ValueError(f"no learning-engine form for rule {rule!r}; choose one of "
                     f"{', '.join(ENGINE_RULE_NAMES)}")
