"""How fast bioopzo reads and bins event recordings (README, Datasets).

Writes N-MNIST-format recordings (40-bit events, the published folder layout)
into a temporary folder, then times, through the loaders ``bioopzo train``
uses, opening the folder and reading + binning every recording with the
binning of models/nmnist_fc.toml (T = 30 bins, binary values, 2312 inputs):

    python analyses/event_data_speed.py [--per-class 100] [--events 4000]

The recordings are synthetic (uniform over the 34 x 34 sensor and 300 ms), so
the numbers are about file reading and binning cost, not about N-MNIST itself.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, default=100, help="train recordings per digit")
    parser.add_argument("--events", type=int, default=4000, help="events per recording")
    args = parser.parse_args()

    from bioopzo.config import load_config, resolve_config_path
    from bioopzo.data import load_dataset
    from bioopzo.data.event_writers import random_nmnist_events, write_nmnist

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="bioopzo-events-") as tmp:
        recordings = {(split, d): [random_nmnist_events(rng, args.events) for _ in range(n)]
                      for split, n in (("train", args.per_class), ("test", 1)) for d in range(10)}
        write_nmnist(Path(tmp), recordings)
        config = load_config(resolve_config_path("nmnist_fc"), {"data": {"data_dir": tmp}})
        t0 = time.perf_counter()
        ds = load_dataset(config.data, seed=1)
        t_open = time.perf_counter() - t0
        n = len(ds.y_train)
        t0 = time.perf_counter()
        for start in range(0, n, 100):
            ds.x_train[np.arange(start, min(n, start + 100))]
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        for start in range(0, n, 100):    # second pass: from the in-memory cache
            ds.x_train[np.arange(start, min(n, start + 100))]
        t_cached = time.perf_counter() - t0
    per = 1000 * t_read / n
    print(f"{n} recordings of {args.events} events, binning of nmnist_fc ({ds.x_train.binning.describe()})")
    print(f"open folder: {t_open:.2f} s; read + bin: {per:.2f} ms per recording "
          f"({per * 70000 / 1000 / 60:.1f} min for the 70000 N-MNIST recordings); "
          f"cached: {1000 * t_cached / n:.3f} ms per recording")


if __name__ == "__main__":
    main()
