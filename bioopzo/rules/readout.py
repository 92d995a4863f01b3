"""Readout control: hidden weights frozen at their random initial values, only
the readout (and its bias) learns from e[t]. Scores what a trained linear
readout of a fixed random spiking network achieves.

It has no feedback pathway and no top-down signal (g_l is never formed, in
Brian2 or in the NumPy reference), and the cost analyzer does not count it on
its own: its learning is the readout part every rule counts.
"""

from __future__ import annotations

from bioopzo.rules.base import LearningRule


class ReadoutRule(LearningRule):
    name = "readout"
    trains_hidden = False
    counted = False

    def build_feedback(self, ctx, layer):  # pragma: no cover - never called
        raise RuntimeError("the readout control has no feedback pathway")
