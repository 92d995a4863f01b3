"""Training throughput of one device on the ``nmnist`` workload, for benchmarks/gpu.sh.

    python benchmarks/lane_throughput.py --device cpp_standalone [--samples 200]

Workload (the ``nmnist`` workload of benchmarks/throughput.py): 2312-800-10, T = 30
steps of dt = 1 ms, OPZO with one update per sample (``schedule = "sample"``),
generated inputs: every input is active with probability p = 0.05 per step
(rate encoding with intensity 0.05 at max_rate = 1 kHz: p = max_rate * dt *
intensity), random labels. It runs on every lane (brian2 2.5.4 for genn, 2.9 for
the default lane, 2.10.1 for cuda_standalone), so it uses only the rate encoder.

One epoch of ``--samples`` training samples runs twice: the first run includes
code generation and compilation, the second re-runs the compiled binary with the
first run's state (on every device here). Throughput = samples / seconds of the
second run's simulation (binary time). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from bioopzo.config import load_config
from bioopzo.devices import make_simulator
from bioopzo.data.epochs import make_epoch_data
from bioopzo.state import initial_state

N_INPUTS, N_HIDDEN, N_CLASSES, T, P_ACTIVE = 2312, 800, 10, 30, 0.05


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", required=True)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    config = load_config(None, {
        "network": {"hidden": [N_HIDDEN]},
        "data": {"steps_per_sample": T, "encoding": "rate", "max_rate": "1 kHz"},
        "neuron": {"dt": "1 ms"},
        "rule": {"name": "opzo"},
        "optimizer": {"schedule": "sample", "lr_schedule": "constant"},
        "device": {"name": args.device, "threads": args.threads},
    })
    rng = np.random.default_rng(3)
    x = np.full((args.samples, N_INPUTS), P_ACTIVE)
    y = rng.integers(0, N_CLASSES, args.samples)
    data = make_epoch_data(x, y, x[:0], y[:0], 1)
    state = initial_state(config, N_INPUTS, N_CLASSES, 1)
    with tempfile.TemporaryDirectory(prefix="bioopzo-lane-bench-") as tmp:
        sim = make_simulator(config, N_INPUTS, N_CLASSES, Path(tmp) / "build")
        with sim:
            t = time.perf_counter()
            first = sim.run_epoch(data, state, 1)
            first_wall = time.perf_counter() - t
            second = sim.run_epoch(data, first.state, 2)
    seconds = second.simulation_time
    rate = float(np.sum(second.spike_counts[0])) / (N_HIDDEN * args.samples * T)
    print(json.dumps({
        "device": args.device, "samples": args.samples, "samples_per_s": args.samples / seconds,
        "simulation_seconds": seconds, "first_run_seconds_with_compilation": first_wall,
        "rebuilt_for_second_run": bool(second.compiled), "hidden_rate_per_step": rate,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
