"""Per-step frames held in memory as their non-zero values.

A frame-encoded data set is N samples of T x n per-step input values
x_i[k] (k = 0..T-1, i = 0..n-1); for event data most of them are zero (5 %
are not on the N-MNIST-like benchmark input). As a dense float32 array the 60 000
N-MNIST training samples binned to T = 30 steps of 2312 inputs take 16.6 GB.
:class:`SparseFrames` keeps, per sample s, the flat positions p = k n + i
(int32, ascending) and the values (float32) of the entries whose bit pattern
is not zero, one after another:

    entries of sample s = positions[offsets[s] : offsets[s + 1]], values[...]

(8 bytes per non-zero entry: about 1/10 of the dense size at 5 %). It is a
frame source like :class:`bioopzo.data.frames.EventFrames`: ``frames[indices]``
gives the dense (len(indices), T, n) float32 frames, and
``frames.sparse_rows(indices)`` gives the non-zero entries of those samples'
frames, flattened in that order, as :class:`bioopzo.data.epochs.SparseValues`:
what the cpp_standalone device passes to its binary, without building and
scanning the dense frames of every run (480 N-MNIST-like samples: 133 MB of
float32 frames scanned in 45-60 ms here; their entries gathered in a few ms).

``SparseFrames.from_dense(frames)`` converts frames already in memory (once,
chunk by chunk); ``SparseFrames(offsets, positions, values, shape)`` takes
entries built elsewhere (from event lists, say).
"""

from __future__ import annotations

import numpy as np

from bioopzo.data.epochs import SparseValues
from bioopzo.data.frames import sample_indices

__all__ = ["SparseFrames"]


class SparseFrames:
    """N samples of (T, n) float32 frames as their non-zero entries (module
    docstring): ``offsets`` (N + 1,) int64, ``positions`` int32 (flat k n + i
    within a sample, ascending per sample), ``values`` float32."""

    dtype = np.dtype(np.float32)

    def __init__(self, offsets, positions, values, shape):
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.positions = np.asarray(positions, dtype=np.int32)
        self.values = np.asarray(values, dtype=np.float32)
        n_samples, steps, n_inputs = (int(v) for v in shape)
        self.shape = (n_samples, steps, n_inputs)
        per_sample = steps * n_inputs
        if per_sample >= 2**31:
            raise ValueError(f"a sample of {steps} x {n_inputs} values does not fit int32 positions")
        if (self.offsets.shape != (n_samples + 1,) or self.offsets[0] != 0
                or np.any(np.diff(self.offsets) < 0)):
            raise ValueError(f"offsets must be {n_samples + 1} non-decreasing values from 0")
        if self.positions.shape != self.values.shape or self.positions.size != self.offsets[-1]:
            raise ValueError(f"{self.offsets[-1]} entries expected, got {self.positions.size} "
                             f"positions and {self.values.size} values")
        if self.positions.size and (self.positions.min() < 0 or self.positions.max() >= per_sample):
            raise ValueError(f"positions must lie in [0, {per_sample}) (T x n of one sample)")

    @classmethod
    def from_dense(cls, frames, chunk: int = 256) -> "SparseFrames":
        """The non-zero entries of dense frames (N, T, n), ``chunk`` samples at a time."""
        frames = np.asarray(frames)
        if frames.ndim != 3:
            raise ValueError(f"frames must have shape (samples, T, inputs), got {frames.shape}")
        n_samples, per_sample = frames.shape[0], int(np.prod(frames.shape[1:]))
        counts, positions, values = [], [], []
        for start in range(0, n_samples, chunk):
            part = np.ascontiguousarray(frames[start:start + chunk], dtype=np.float32)
            flat = part.reshape(len(part), per_sample)
            nonzero = flat.view(np.uint32) != 0           # -0.0 kept, as SparseValues does
            counts.append(np.count_nonzero(nonzero, axis=1))
            rows, cols = np.nonzero(nonzero)
            positions.append(cols.astype(np.int32))
            values.append(flat[rows, cols])
        offsets = np.zeros(n_samples + 1, dtype=np.int64)
        if n_samples:
            np.cumsum(np.concatenate(counts), out=offsets[1:])
        empty = np.zeros(0, np.int32)
        return cls(offsets, np.concatenate(positions) if positions else empty,
                   np.concatenate(values) if values else empty.astype(np.float32), frames.shape)

    @property
    def ndim(self) -> int:
        return 3

    @property
    def nbytes(self) -> int:
        return self.offsets.nbytes + self.positions.nbytes + self.values.nbytes

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        n, steps, n_inputs = self.shape
        density = self.positions.size / max(n * steps * n_inputs, 1)
        return (f"<SparseFrames {n} samples x {steps} steps x {n_inputs} inputs, "
                f"{100 * density:.1f} % non-zero, {self.nbytes / 2**20:.1f} MB>")

    def _entries(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row of each entry among ``idx``, position of the entry in ``positions``)."""
        starts, lengths = self.offsets[idx], self.offsets[idx + 1] - self.offsets[idx]
        total = int(lengths.sum())
        rows = np.repeat(np.arange(len(idx), dtype=np.int64), lengths)
        first = np.cumsum(lengths) - lengths         # where each row's entries begin in the output
        at = np.arange(total, dtype=np.int64) - np.repeat(first - starts, lengths)
        return rows, at

    def sparse_rows(self, indices) -> SparseValues:
        """The non-zero entries of ``self[indices]`` flattened (C order)."""
        idx, _ = sample_indices(indices, len(self))
        rows, at = self._entries(idx)
        per_sample = self.shape[1] * self.shape[2]
        index = rows * per_sample + self.positions[at]
        return SparseValues(index, self.values[at], len(idx) * per_sample)

    def __getitem__(self, indices) -> np.ndarray:
        idx, scalar = sample_indices(indices, len(self))
        sparse = self.sparse_rows(idx)
        out = np.zeros(len(idx) * self.shape[1] * self.shape[2], dtype=np.float32)
        out[sparse.index] = sparse.values
        out = out.reshape(len(idx), *self.shape[1:])
        return out[0] if scalar else out

    def __array__(self, dtype=None, copy=None):
        """All samples as one dense array (only for small sources)."""
        out = self[np.arange(len(self))]
        return out if dtype is None else out.astype(dtype)
