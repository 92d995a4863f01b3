"""Input encoders: intensities in [0, 1] to per-step inputs x_0[t].

Each encoder exists twice, like the model: as a Brian2 statement evaluated in
the input group every step (``brian_statement``) and as NumPy (``encode``) for
the reference implementation. With intensity I_j of input j, sample step
k = 0..T-1:

- ``rate``:    x_0[t]_j ~ Bernoulli(p I_j), p = max_rate * dt (<= 1), fresh every step
- ``direct``:  x_0[t]_j = I_j (analog current every step, OTTT's static-image input)
- ``latency``: x_0[t]_j = 1 if k = round((1 - I_j)(T - 1)) and I_j >= cutoff, else 0
- ``frames``:  x_0[t]_j = F_j[k], the data's own per-step value (event data sets
  binned to T steps); no intensities, the data are (N, T, n) frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bioopzo.errors import ConfigError

if TYPE_CHECKING:
    from bioopzo.config import DataConfig

__all__ = ["Encoder", "RateEncoder", "DirectEncoder", "LatencyEncoder", "FrameEncoder",
           "make_encoder"]

#: Brian2 read of the current sample's intensity for input i (a TimedArray
#: with one row per sample)
READ_INTENSITY = "intensity = input_intensity(t, i)\n"


@dataclass(frozen=True)
class Encoder:
    steps_per_sample: int

    #: the data are per-step frames (N, T, n) rather than intensities (N, n)
    per_step = False

    #: Brian2 statements that set ``x`` for input ``i`` at step ``k`` of the
    #: current sample (from ``input_intensity(t, i)``, or ``input_frame(t, i)``
    #: for per-step data); ``uniform`` names the Brian2 function of uniform
    #: draws on [0, 1) (the device's ``uniform()``, else ``rand()``).
    def brian_statement(self, uniform: str = "rand") -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def brian_namespace(self) -> dict:
        return {}

    def encode(self, intensities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(N, n) intensities -> (N, T, n) inputs."""
        raise NotImplementedError  # pragma: no cover


@dataclass(frozen=True)
class RateEncoder(Encoder):
    spike_probability: float = 1.0

    def __post_init__(self):
        if not 0 < self.spike_probability <= 1:
            raise ConfigError(
                f"rate encoding needs max_rate * dt in (0, 1], got {self.spike_probability:g}; "
                "lower [data] max_rate or dt"
            )

    def brian_statement(self, uniform: str = "rand") -> str:
        return READ_INTENSITY + f"x = int({uniform}() < spike_probability*intensity)"

    def brian_namespace(self) -> dict:
        return {"spike_probability": self.spike_probability}

    def encode(self, intensities, rng):
        n, d = intensities.shape
        u = rng.random((n, self.steps_per_sample, d))
        return (u < self.spike_probability * intensities[:, None, :]).astype(np.float64)


@dataclass(frozen=True)
class DirectEncoder(Encoder):
    def brian_statement(self, uniform: str = "rand") -> str:
        return READ_INTENSITY + "x = intensity"

    def encode(self, intensities, rng):
        return np.repeat(intensities[:, None, :], self.steps_per_sample, axis=1).astype(np.float64)


@dataclass(frozen=True)
class LatencyEncoder(Encoder):
    cutoff: float = 0.1

    def brian_statement(self, uniform: str = "rand") -> str:
        return (READ_INTENSITY + "x = int(k == int((1 - intensity)*(steps_per_sample - 1) + 0.5))"
                "*int(intensity >= latency_cutoff)")

    def brian_namespace(self) -> dict:
        return {"latency_cutoff": self.cutoff}

    def encode(self, intensities, rng):
        T = self.steps_per_sample
        step = np.floor((1 - intensities) * (T - 1) + 0.5).astype(int)
        out = (np.arange(T)[None, :, None] == step[:, None, :]) & (intensities[:, None, :] >= self.cutoff)
        return out.astype(np.float64)


@dataclass(frozen=True)
class FrameEncoder(Encoder):
    per_step = True

    def brian_statement(self, uniform: str = "rand") -> str:
        return "x = input_frame(t, i)"

    def encode(self, frames, rng):
        frames = np.asarray(frames, dtype=np.float64)
        if frames.ndim != 3 or frames.shape[1] != self.steps_per_sample:
            raise ConfigError(f"frames must have shape (N, {self.steps_per_sample}, n), "
                              f"got {frames.shape}")
        return frames


def make_encoder(config: DataConfig, dt) -> Encoder:
    T = config.steps_per_sample
    if config.encoding == "rate":
        return RateEncoder(T, float(config.max_rate * dt))
    if config.encoding == "direct":
        return DirectEncoder(T)
    if config.encoding == "latency":
        return LatencyEncoder(T, config.latency_cutoff)
    if config.encoding == "frames":
        return FrameEncoder(T)
    raise ConfigError(f"unknown encoding {config.encoding!r}")  # pragma: no cover
