"""tonic's N-MNIST, SHD and DVS-Gesture classes, restricted to a local folder.

tonic decides whether to download by a cheap check of its own (an archive file
plus a minimum number of extracted files); a partial or extracted-only copy
fails that check and tonic then downloads. These subclasses keep tonic's folder
walking, labels and readers but never download: bioopzo checks the folder
itself first (:mod:`bioopzo.data.tonic_datasets`), and ``download`` raises.
They carry tonic's class names because tonic derives the data folder from the
class name (``<data_dir>/NMNIST``).

Every recording is decoded into a structured array and checked: pixel (or
channel) inside the sensor, polarity 0 or 1, time >= 0 us; a file that cannot be
decoded raises :class:`CorruptEventFileError` naming the file.

- N-MNIST: tonic's ``read_mnist_file`` (5 bytes = 40 bits per event: x, y,
  polarity bit and a 23-bit time in us); a file whose size is not a multiple of
  5 bytes is truncated.
- SHD: times (s, float) and channels from the HDF5 file. tonic converts
  t_us = trunc(t_s 1e6), which turns a float32 0.123 s (0.12299999...) into
  122999 us; here t_us = round(t_s 1e6), the nearest microsecond.
- DVS-Gesture: tonic's reader of its per-gesture ``.npy`` arrays (columns x, y,
  p, t in ms; t_us = 1000 t_ms).
"""

from __future__ import annotations

import os

import numpy as np
import tonic.datasets

from bioopzo.data.errors import CorruptEventFileError, DatasetFilesError

__all__ = ["NMNIST", "SHD", "DVSGesture", "check_events"]


def check_events(events: np.ndarray, sensor_size, path: str, where: str = "") -> np.ndarray:
    """Decoded events must lie on the sensor; anything else means a corrupt file."""
    W, H, P = sensor_size
    fields = events.dtype.names
    problems = []
    if events.size:
        if events["x"].min() < 0 or events["x"].max() >= W:
            problems.append(f"x outside 0..{W - 1} (range {events['x'].min()}..{events['x'].max()})")
        if "y" in fields and (events["y"].min() < 0 or events["y"].max() >= H):
            problems.append(f"y outside 0..{H - 1} (range {events['y'].min()}..{events['y'].max()})")
        p = events["p"].astype(np.int64)
        if p.min() < 0 or p.max() > 1:
            problems.append("polarity not 0 or 1")
        if events["t"].min() < 0:
            problems.append(f"negative time {events['t'].min()} us")
    if problems:
        raise CorruptEventFileError(
            f"{path}{where} holds events that cannot come from this sensor ({'; '.join(problems)}); "
            "the file is corrupt or belongs to another data set: replace it from the published copy"
        )
    return events


class _LocalOnly:
    """Never download: bioopzo has checked the folder before tonic looks at it."""

    def _check_exists(self) -> bool:
        return True

    def download(self) -> None:
        raise DatasetFilesError(
            f"{type(self).__name__}: bioopzo never downloads data; put the files under "
            f"{self.location_on_system} yourself"
        )


class NMNIST(_LocalOnly, tonic.datasets.NMNIST):
    def read(self, index: int) -> np.ndarray:
        path = self.data[index]
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            raise CorruptEventFileError(f"{path} cannot be read ({exc})") from None
        if size % 5:
            raise CorruptEventFileError(
                f"{path} has {size} bytes, not a whole number of 5-byte (40-bit) N-MNIST events: "
                "it is truncated or not an N-MNIST recording; replace it from the published archive"
            )
        try:
            events, _ = tonic.datasets.NMNIST.__getitem__(self, index)
        except Exception as exc:  # any decoding failure names the file
            raise CorruptEventFileError(f"{path} cannot be decoded as N-MNIST events ({exc})") from None
        return check_events(events, self.sensor_size, path)


class SHD(_LocalOnly, tonic.datasets.SHD):
    def read(self, index: int) -> np.ndarray:
        import h5py

        path = os.path.join(self.location_on_system, self.data_filename)
        try:
            if getattr(self, "_h5", None) is None:
                self._h5 = h5py.File(path, "r")
            times = np.asarray(self._h5["spikes/times"][index], dtype=np.float64)
            units = np.asarray(self._h5["spikes/units"][index])
        except Exception as exc:
            raise CorruptEventFileError(f"{path}: sample {index} cannot be read ({exc})") from None
        if times.shape != units.shape or times.ndim != 1:
            raise CorruptEventFileError(
                f"{path}: sample {index} has {times.size} spike times but {units.size} channels; "
                "the file is corrupt"
            )
        if not np.all(np.isfinite(times)):
            raise CorruptEventFileError(f"{path}: sample {index} has NaN or infinite spike times")
        events = np.zeros(times.size, dtype=self.dtype)
        events["t"] = np.round(times * 1e6)
        events["x"] = units
        events["p"] = 1
        return check_events(events, self.sensor_size, path, f" (sample {index})")

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_h5"] = None
        return state


class DVSGesture(_LocalOnly, tonic.datasets.DVSGesture):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # tonic lists the files of a folder in file-system order: sort, so that
        # sample indices (and seeded subsets) are the same on every machine
        order = sorted(range(len(self.data)), key=lambda i: self.data[i])
        for name in ("data", "targets", "users", "lighting"):
            values = getattr(self, name)
            setattr(self, name, [values[i] for i in order])

    def read(self, index: int) -> np.ndarray:
        path = self.data[index]
        try:
            events, _ = tonic.datasets.DVSGesture.__getitem__(self, index)
        except Exception as exc:
            raise CorruptEventFileError(
                f"{path} cannot be read as a DVS-Gesture recording (an (n, 4) array of x, y, p, "
                f"t in ms): {exc}"
            ) from None
        return check_events(events, self.sensor_size, path)
