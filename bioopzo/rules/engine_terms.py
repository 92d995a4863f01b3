"""Learning rules in Loihi learning-engine terms (cost-model.md b): the shared pieces.

Loihi's learning engine changes a synaptic variable Z (weight w, tag t) by a sum of product
terms, each a scale constant times a product of factors (traces, variables, constants),
evaluated under a dependency: ``x0`` (presynaptic spike in the epoch), ``y0`` (postsynaptic
spike) or ``u0`` (unconditionally, every epoch). Traces: x1, x2 (presynaptic, per axon),
y1, y2, y3 (postsynaptic, per neuron; on Loihi 2 y2/y3 are written by the neuron's
microcode, which is how per-neuron third factors reach the synapses). :class:`EngineRule`
is modelled on Lava's ``LearningRule`` (a ``dw`` string of products, its traces).

bioopzo's shared three-factor update, in these terms (per plastic synapse i -> j):

    dW_ij = -eta a_i[t] psi_j[t] g_j[t]      ->   dw = -eta * u0 * x1 * y2 * y3
              x1 = a_i (presynaptic trace, decay lambda, impulse 1 per spike)
              y2 = g_j (top-down signal),  y3 = psi_j (surrogate)
    readout:  dw = -eta * u0 * x1 * y2,  y2 = e_j

with ``u0`` replaced by ``x0`` in the presynaptically gated counting mode
(:func:`forward_term`, :func:`readout_term`). Each rule module adds what its own
feedback needs (``LearningRule.engine_terms``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EngineRule", "forward_term", "readout_term"]


@dataclass(frozen=True)
class EngineRule:
    """One learning-engine rule on one kind of synapse."""

    rule: str            # the learning rule's name
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


def forward_term(rule: str, g_meaning: str, gate: str) -> EngineRule:
    """The three-factor update of the hidden forward weights, g_j described by ``g_meaning``."""
    return EngineRule(rule, "hidden W_l (l = 1..L)", f"-eta * {gate} * x1 * y2 * y3",
                      {"x1": "presynaptic trace a_i (decay lambda, +1 per spike)",
                       "y2": g_meaning, "y3": "surrogate psi_j(u_j)"})


def readout_term(rule: str, gate: str) -> EngineRule:
    """The readout's update from the output error e (the same for every rule)."""
    return EngineRule(rule, "readout W_o", f"-eta * {gate} * x1 * y2",
                      {"x1": "presynaptic trace a_i of the last hidden layer",
                       "y2": "output error e_j (third factor)"})
