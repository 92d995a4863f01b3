"""Event recordings to per-step inputs: binning with tonic's transforms, and lazy frame sources.

An event is (x, y, p, t): pixel column x, row y, polarity p in {0, 1}, time t in
microseconds (SHD: channel x, no y, p = 0). A recording becomes T frames, one
per simulation step, for the input layer x_0[k], k = 0..T-1:

1. optional spatial downsampling (tonic ``Downsample``) from a W x H sensor to
   W' x H': x' = floor(x W'/W), y' = floor(y H'/H) (events are kept, pixels merge);
2. optional polarity merge (tonic ``MergePolarities``): p' = 0, P' = 1;
3. binning (tonic ``ToFrame`` with a time window): with t_0 the recording's
   first event time and w the bin width,

       c[k, p, y, x] = #{events (x, y, p, t): t_0 + k w <= t < t_0 + (k + 1) w},

   where w is ``bin_width`` (fixed, in us; events at t >= t_0 + T w are
   dropped) or, when it is not set, w = ceil((t_last - t_0 + 1) / T) us, so that
   sum_k c[k, p, y, x] equals the number of events of that pixel and polarity;
4. input j = p W' H' + y W' + x (SHD: j = x, the channel), and the value
   x_0[k]_j = c[k, j] (``count``) or min(c[k, j], 1) (``binary``).

An empty recording gives T all-zero frames. The values are non-negative
float32; ``EventFrames`` produces them on demand for a set of samples, so that
a data set is never held in memory as frames.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from bioopzo.config import ConfigError, DataConfig
from bioopzo.data.epochs import SparseValues

__all__ = ["Binning", "EventFrames", "sample_indices"]


@dataclass(frozen=True)
class Binning:
    """How one data set's events become T frames of ``n_inputs`` values."""

    sensor_size: tuple[int, int, int]      # (W, H, P) of the recording sensor
    steps: int                             # T
    bin_width_us: int | None = None        # None: each recording's own span / T
    downsample_to: tuple[int, int] | None = None
    polarity: str = "both"
    values: str = "count"

    def __post_init__(self):
        if self.downsample_to is not None:
            W, H, _ = self.sensor_size
            w2, h2 = self.downsample_to
            if H == 1:
                raise ConfigError(
                    "[data] downsample_to applies to camera data sets (N-MNIST, DVS-Gesture); "
                    "SHD has 700 channels and no pixels: remove downsample_to"
                )
            if w2 > W or h2 > H:
                raise ConfigError(
                    f"[data] downsample_to = [{w2}, {h2}] is larger than the sensor ({W} x {H}); "
                    f"choose a size of at most [{W}, {H}]"
                )

    @classmethod
    def from_config(cls, config: DataConfig, sensor_size: tuple[int, int, int]) -> "Binning":
        width = None
        if config.bin_width is not None:
            from brian2 import us

            width = int(round(float(config.bin_width / us)))
        down = config.downsample_to
        if down is not None and tuple(down) == tuple(sensor_size[:2]):
            down = None
        return cls(tuple(sensor_size), config.steps_per_sample, width,
                   None if down is None else tuple(down), config.polarity, config.frame_values)

    # ------------------------------------------------------------------ sizes
    @property
    def output_sensor_size(self) -> tuple[int, int, int]:
        W, H, P = self.sensor_size
        if self.downsample_to is not None:
            W, H = self.downsample_to
        return (W, H, 1 if self.polarity == "merge" else P)

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.output_sensor_size))

    def describe(self) -> str:
        W, H, P = self.output_sensor_size
        width = ("each recording's span / T" if self.bin_width_us is None
                 else f"{self.bin_width_us / 1000:g} ms")
        down = "" if self.downsample_to is None else f", downsampled to {W} x {H}"
        polarity = "" if self.sensor_size[2] == 1 else f", polarity {self.polarity}"
        return (f"T = {self.steps} bins of {width}{down}{polarity}, "
                f"values {self.values}: {self.n_inputs} inputs")

    # -------------------------------------------------------------- transforms
    def bin_width_for(self, t_first: int, t_last: int) -> int:
        """w in us for a recording from t_first to t_last (fixed, or its span / T)."""
        if self.bin_width_us is not None:
            return self.bin_width_us
        return max(1, math.ceil((int(t_last) - int(t_first) + 1) / self.steps))

    def prepare(self, events: np.ndarray) -> np.ndarray:
        """Downsample and merge polarities (tonic transforms); events sorted by time."""
        import tonic.transforms as tt

        events = np.array(events, copy=True)
        if events.size and np.any(np.diff(events["t"]) < 0):
            events = events[np.argsort(events["t"], kind="stable")]
        if self.downsample_to is not None:
            events = tt.Downsample(sensor_size=self.sensor_size, target_size=self.downsample_to)(events)
        if self.polarity == "merge":
            events = tt.MergePolarities()(events)
        return events

    def counts(self, events: np.ndarray) -> np.ndarray:
        """(T, n_inputs) int64 event counts per bin and input (tonic ``ToFrame``)."""
        import tonic.transforms as tt

        T = self.steps
        events = self.prepare(events)
        if events.size == 0:
            return np.zeros((T, self.n_inputs), np.int64)
        t0 = int(events["t"][0])
        w = self.bin_width_for(t0, events["t"][-1])
        frames = tt.ToFrame(sensor_size=self.output_sensor_size, time_window=w,
                            start_time=t0, end_time=t0 + T * w)(events)
        frames = np.asarray(frames).reshape(len(frames), -1).astype(np.int64)
        if frames.shape[0] != T:   # pragma: no cover - guards a change in tonic's slicing
            raise RuntimeError(f"tonic ToFrame gave {frames.shape[0]} frames instead of T = {T}")
        kept = int(np.count_nonzero(events["t"] < t0 + T * w))
        if int(frames.sum()) != kept or frames.min() < 0:
            raise ConfigError(
                f"binning lost events ({int(frames.sum())} counted, {kept} in the bins): a count "
                "per bin and input overflowed tonic's 16-bit frames; use a shorter bin_width, more "
                "steps or less downsampling"
            )
        return frames

    def values_of(self, counts: np.ndarray) -> np.ndarray:
        if self.values == "binary":
            return np.minimum(counts, 1).astype(np.float32)
        return counts.astype(np.float32)

    def frames(self, events: np.ndarray) -> np.ndarray:
        """(T, n_inputs) float32 per-step input values of one recording."""
        return self.values_of(self.counts(events))


def sample_indices(indices, n: int) -> tuple[np.ndarray, bool]:
    """A frame source's sample ``indices`` (an int, ints, a slice or a boolean
    mask; negative counted from the end) as int64 in [0, n), and whether a
    single int was given."""
    if isinstance(indices, slice):
        indices = np.arange(n)[indices]
    idx = np.asarray(indices)
    scalar = idx.ndim == 0
    idx = np.atleast_1d(idx)
    if idx.dtype == bool:
        idx = np.flatnonzero(idx)
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"frame sources are indexed by integer sample indices, got {idx.dtype}")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"sample index out of range for {n} samples")
    return np.where(idx < 0, idx + n, idx), scalar


class EventFrames:
    """A lazy frame source: ``shape`` (N, T, n_inputs); ``frames[indices]`` reads the
    recordings of those samples and returns float32 (len(indices), T, n_inputs).

    ``read_events(i)`` returns the events of recording ``i`` (already validated by
    the reader); ``samples`` maps this source's sample k to a recording. Binned
    samples are kept in a least-recently-used cache of at most ``cache_megabytes``
    (as the smallest unsigned integer type that holds the counts), so small subsets
    are read from disk only once.
    """

    def __init__(self, read_events, samples: np.ndarray, binning: Binning, *,
                 cache_megabytes: float = 256.0, name: str = "frames"):
        self._read = read_events
        self.samples = np.asarray(samples, dtype=np.int64)
        self.binning = binning
        self.name = name
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = int(cache_megabytes * 2**20)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self.samples), self.binning.steps, self.binning.n_inputs)

    @property
    def ndim(self) -> int:
        return 3

    dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return f"<EventFrames {self.name}: {len(self)} samples, {self.binning.describe()}>"

    def events(self, k: int) -> np.ndarray:
        """The raw events of this source's sample k."""
        return self._read(int(self.samples[k]))

    def counts(self, k: int) -> np.ndarray:
        k = int(k)
        if k in self._cache:
            self._cache.move_to_end(k)
            return self._cache[k]
        counts = self.binning.counts(self.events(k))
        top = int(counts.max()) if counts.size else 0
        small = counts.astype(np.uint8 if top < 2**8 else np.uint16 if top < 2**16 else np.uint32)
        if small.nbytes <= self._cache_limit:
            self._cache[k] = small
            self._cache_bytes += small.nbytes
            while self._cache_bytes > self._cache_limit:
                _, old = self._cache.popitem(last=False)
                self._cache_bytes -= old.nbytes
        return small

    def __getitem__(self, indices) -> np.ndarray:
        idx, scalar = sample_indices(indices, len(self))
        out = np.empty((len(idx), *self.shape[1:]), np.float32)
        for row, k in enumerate(idx):
            out[row] = self.binning.values_of(self.counts(k))
        return out[0] if scalar else out

    def sparse_rows(self, indices) -> SparseValues:
        """The non-zero entries of ``self[indices]`` flattened (C order), taken
        from each sample's counts without building its float32 frames."""
        per_sample = self.shape[1] * self.shape[2]
        rows, _ = sample_indices(indices, len(self))
        index, values = [], []
        for row, k in enumerate(rows):
            counts = self.counts(k).ravel()
            at = np.flatnonzero(counts)
            index.append(at + row * per_sample)
            values.append(self.binning.values_of(counts[at]))
        if not index:
            return SparseValues(np.zeros(0, np.int64), np.zeros(0, np.float32), 0)
        return SparseValues(np.concatenate(index), np.concatenate(values), len(rows) * per_sample)

    def __array__(self, dtype=None, copy=None):
        """All samples as one array (only for small sources: N T n float32 values)."""
        out = self[np.arange(len(self))]
        return out if dtype is None else out.astype(dtype)
