"""Writers of event recordings in the published on-disk formats (for tests and demos).

bioopzo never downloads data; these writers produce small folders that the
loaders read exactly like the published ones:

- N-MNIST: one ``.bin`` file per recording, 5 bytes (40 bits) per event:
  byte 0 = x, byte 1 = y, byte 2 = polarity << 7 | t bits 22..16, bytes 3-4 = t
  bits 15..0 (t in us, < 2^23), under ``NMNIST/{Train,Test}/<digit>/``.
- SHD: one HDF5 file per split with variable-length ``spikes/times`` (s, float32)
  and ``spikes/units`` (uint16) per recording, ``labels``, ``extra/keys`` and
  ``extra/speaker``, as ``SHD/shd_{train,test}.h5``.
- DVS-Gesture (tonic's release): one ``.npy`` (n, 4) array per gesture (x, y, p,
  t in ms) as ``DVSGesture/ibmGesture{Train,Test}/user<NN>_<lighting>/<label>.npy``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NMNIST_T_MAX = 2**23 - 1


def nmnist_bytes(x, y, p, t) -> bytes:
    """40-bit N-MNIST events (x, y, polarity, t in us) as bytes."""
    x, y, p, t = (np.asarray(a, dtype=np.int64) for a in (x, y, p, t))
    if np.any((t < 0) | (t > NMNIST_T_MAX)):
        raise ValueError(f"N-MNIST times are 23-bit microseconds, 0..{NMNIST_T_MAX}")
    if np.any((x < 0) | (x > 255) | (y < 0) | (y > 255) | (y == 240)) or np.any((p != 0) & (p != 1)):
        raise ValueError("N-MNIST x and y are bytes (y = 240 marks a time overflow), polarity 0 or 1")
    raw = np.zeros((len(x), 5), np.uint8)
    raw[:, 0] = x
    raw[:, 1] = y
    raw[:, 2] = (p << 7) | ((t >> 16) & 0x7F)
    raw[:, 3] = (t >> 8) & 0xFF
    raw[:, 4] = t & 0xFF
    return raw.tobytes()


def write_nmnist(root: Path, recordings: dict) -> Path:
    """``recordings[(split, digit)]`` = list of (x, y, p, t) arrays; returns ``root``.

    Files are ``<root>/NMNIST/<Train|Test>/<digit>/<id>.bin`` with ids numbered
    across the split, as in the published archive."""
    counter = {"train": 0, "test": 0}
    for (split, digit), recs in sorted(recordings.items()):
        folder = Path(root) / "NMNIST" / {"train": "Train", "test": "Test"}[split] / str(digit)
        folder.mkdir(parents=True, exist_ok=True)
        for events in recs:
            counter[split] += 1
            (folder / f"{counter[split]:05d}.bin").write_bytes(nmnist_bytes(*events))
    return Path(root)


def random_nmnist_events(rng, n, t_max=300_000, sensor=(34, 34)):
    t = np.sort(rng.integers(0, t_max, n))
    return (rng.integers(0, sensor[0], n), rng.integers(0, sensor[1], n), rng.integers(0, 2, n), t)


def write_shd(root: Path, split: str, times_s: list, units: list, labels, speakers=None) -> Path:
    import h5py

    folder = Path(root) / "SHD"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"shd_{split}.h5"
    with h5py.File(path, "w") as f:
        t_ds = f.create_dataset("spikes/times", (len(times_s),), dtype=h5py.vlen_dtype(np.float32))
        u_ds = f.create_dataset("spikes/units", (len(units),), dtype=h5py.vlen_dtype(np.uint16))
        for i, (t, u) in enumerate(zip(times_s, units)):
            t_ds[i] = np.asarray(t, np.float32)
            u_ds[i] = np.asarray(u, np.uint16)
        f.create_dataset("labels", data=np.asarray(labels, np.uint8))
        keys = [f"{w}" for w in range(20)]
        f.create_dataset("extra/keys", data=np.array(keys, dtype="S8"))
        f.create_dataset("extra/speaker", data=np.asarray(
            speakers if speakers is not None else np.zeros(len(labels)), np.uint8))
    return path


def write_dvsgesture(root: Path, split: str, recordings: dict, dtype=np.int64) -> Path:
    """``recordings[(user, lighting, label)]`` = (x, y, p, t_ms) arrays."""
    folder = Path(root) / "DVSGesture" / {"train": "ibmGestureTrain", "test": "ibmGestureTest"}[split]
    for (user, lighting, label), (x, y, p, t) in recordings.items():
        sub = folder / f"user{user:02d}_{lighting}"
        sub.mkdir(parents=True, exist_ok=True)
        np.save(sub / f"{label}.npy", np.stack([x, y, p, t], axis=1).astype(dtype))
    return Path(root)


def class_pattern_nmnist(root: Path, n_per_class: dict, rng, *, n_events=300, t_max=100_000,
                         background=0.2) -> Path:
    """N-MNIST-format recordings with a learnable class structure: digit d's events
    fall mostly in its own 6 x 6 block of the 34 x 34 sensor (polarity d % 2), the
    rest uniformly over the sensor; ``n_per_class[split]`` recordings per digit."""
    recordings = {}
    for split, n in n_per_class.items():
        for d in range(10):
            cx, cy = 2 + (d % 5) * 6, 5 + (d // 5) * 14
            recs = []
            for _ in range(n):
                n_bg = int(n_events * background)
                n_fg = n_events - n_bg
                x = np.concatenate([rng.integers(cx, cx + 6, n_fg), rng.integers(0, 34, n_bg)])
                y = np.concatenate([rng.integers(cy, cy + 6, n_fg), rng.integers(0, 34, n_bg)])
                p = np.concatenate([np.full(n_fg, d % 2), rng.integers(0, 2, n_bg)])
                t = rng.integers(0, t_max, n_events)
                order = np.argsort(t, kind="stable")
                recs.append((x[order], y[order], p[order], t[order]))
            recordings[(split, d)] = recs
    return write_nmnist(root, recordings)
