"""Readout control: hidden weights frozen at their random initial values, only
the readout (and its bias) learns from e[t]. Scores what a trained linear
readout of a fixed random spiking network achieves."""

from __future__ import annotations

from bioopzo.rules.base import LearningRule


class ReadoutRule(LearningRule):
    name = "readout"
    trains_hidden = False

    def build_feedback(self, ctx, layer):  # pragma: no cover - never called
        raise RuntimeError("the readout control has no feedback pathway")
