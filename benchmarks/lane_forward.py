"""Forward pass of a trained run on one device: test accuracy and hidden firing rate.

    python benchmarks/lane_forward.py RUN_DIR --device genn [--out predictions.npz]

Reloads RUN_DIR's weights (``bioopzo.runs.load_run``) and runs its test samples with
learning and noise off (``bioopzo.train.simulate``, seed 0) on ``--device``; prints one
JSON line: test accuracy and hidden rate (spikes per hidden neuron per step of the
first hidden layer). docs/lanes/genn.md compares devices with it on the same weights.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bioopzo.data import load_dataset
from bioopzo.runs import load_run
from bioopzo.train import simulate


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--device", default="cpp_standalone")
    parser.add_argument("--out", help="write predictions and hidden spikes to this .npz")
    args = parser.parse_args(argv)
    config, state = load_run(args.run_dir)
    ds = load_dataset(config.data, config.training.seed)
    t = time.perf_counter()
    res = simulate(config, state, ds.x_test, ds.y_test, device=args.device, seed=0)
    steps, neurons = res["spikes"][0]
    n_steps = len(ds.y_test) * config.data.steps_per_sample
    if args.out:
        np.savez(args.out, predictions=res["predictions"], steps=steps, neurons=neurons)
    print(json.dumps({
        "device": args.device, "run": args.run_dir,
        "test_accuracy": float(np.mean(res["predictions"] == ds.y_test)),
        "hidden_rate": len(steps) / (n_steps * config.network.hidden[0]),
        "seconds": time.perf_counter() - t,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
