"""``bioopzo data info``: what an event data set folder holds and what the binning makes of it.

    bioopzo data info --dataset nmnist --data-dir DIR [--config CFG] [--max-samples N] [--quiet]

prints the samples per split and class, the sensor, events per recording (mean
and range), recording durations, and, for the binning of the config (by
default the packaged ``<dataset>_fc`` model), the bin widths, the fraction of
events that land in the T bins and the input per step: the mean of x_0[k]_j
over steps k, inputs j and recordings (for ``binary`` values, the probability
that an input carries a spike in a step).
"""

from __future__ import annotations

import sys

import numpy as np

from bioopzo.data.names import EVENT_DATASETS
from bioopzo.errors import ConfigError
from bioopzo.options import add_verbosity_options, plural

__all__ = ["register", "dataset_statistics"]


def register(subparsers) -> None:
    p = subparsers.add_parser("data", help="inspect the event data sets in a folder")
    sub = p.add_subparsers(dest="data_command", required=True)
    info = sub.add_parser("info", help="samples, classes, sensor, events per sample and the input "
                                       "per step after binning")
    info.add_argument("--dataset", choices=EVENT_DATASETS,
                      help="data set (default: the config's)")
    info.add_argument("--data-dir", help="folder that holds the data set's folder (NMNIST/, SHD/, "
                                         "DVSGesture/)")
    info.add_argument("--config", help="model TOML or packaged name whose [data] binning to use "
                                       "(default: <dataset>_fc)")
    info.add_argument("--max-samples", type=int,
                      help="statistics from a stratified subset of this many recordings per split "
                           "(default: all)")
    add_verbosity_options(info)
    info.set_defaults(func=cmd_info)


def _config_for(args):
    from bioopzo.config import load_config, resolve_config_path

    if args.config is None and args.dataset is None:
        raise ConfigError("bioopzo data info needs --dataset (nmnist, shd, dvsgesture) or --config")
    path = resolve_config_path(args.config if args.config else f"{args.dataset}_fc")
    over: dict = {}
    if args.dataset:
        over["dataset"] = args.dataset
        over["encoding"] = "frames"
    if args.data_dir:
        over["data_dir"] = args.data_dir
    config = load_config(path, {"data": over} if over else None)
    if config.data.dataset not in EVENT_DATASETS:
        raise ConfigError(f"{path}: [data] dataset = {config.data.dataset!r} is not an event data set "
                          f"({', '.join(EVENT_DATASETS)})")
    return config, path


def dataset_statistics(splits, binning, max_samples: int | None = None, seed: int = 0,
                       progress: bool = False) -> dict:
    """Per split: events per recording, durations (us), bin widths (us), events kept
    in the T bins, and the sum and nonzero count of the per-step input values."""
    from tqdm import tqdm

    from bioopzo.data.samples import stratified_subset

    rng = np.random.default_rng(seed)
    out = {}
    for split in ("train", "test"):
        labels = splits.labels(split)
        idx = np.arange(len(labels))
        if max_samples is not None and max_samples < len(labels):
            idx = stratified_subset(labels, max_samples, rng)
        reader = splits.reader(split)
        n_events, durations, widths, kept = [], [], [], []
        value_sum = 0.0
        nonzero = 0
        for i in tqdm(idx, desc=split, unit="rec", disable=not progress, file=sys.stderr, leave=False):
            events = reader.read(int(i))
            n_events.append(len(events))
            if len(events):
                t_first, t_last = int(events["t"].min()), int(events["t"].max())
                durations.append(t_last - t_first)
                widths.append(binning.bin_width_for(t_first, t_last))
            counts = binning.counts(events)
            kept.append(int(counts.sum()))
            values = binning.values_of(counts)
            value_sum += float(values.sum(dtype=np.float64))
            nonzero += int(np.count_nonzero(values))
        out[split] = {
            "n_recordings": int(len(labels)), "n_used": int(len(idx)),
            "events": np.asarray(n_events), "durations_us": np.asarray(durations),
            "bin_widths_us": np.asarray(widths), "kept": np.asarray(kept),
            "value_sum": value_sum, "nonzero": nonzero,
        }
    return out


def _range(a: np.ndarray, scale: float = 1.0, fmt: str = ".0f") -> str:
    if a.size == 0:
        return "none"
    return (f"mean {a.mean() / scale:{fmt}}, range {a.min() / scale:{fmt}}..{a.max() / scale:{fmt}}")


def cmd_info(args) -> int:
    from bioopzo.data.frames import Binning
    from bioopzo.data.tonic_datasets import open_event_dataset

    config, path = _config_for(args)
    if args.max_samples is not None and args.max_samples < 1:
        raise ConfigError(f"--max-samples {args.max_samples} must be at least 1")
    splits = open_event_dataset(config.data.dataset, config.data.data_dir)
    spec = splits.spec
    binning = Binning.from_config(config.data, spec.sensor_size)
    W, H, P = spec.sensor_size
    sensor = (f"{W} channels" if H == 1 else f"{W} x {H} pixels x {P} polarities")
    print(f"{spec.title} in {splits.root}")
    print(f"  published: {spec.published}")
    print(f"  classes: {spec.n_classes} ({', '.join(spec.classes)})")
    print(f"  sensor: {sensor}")
    official = ", ".join(f"{k} {v}" for k, v in spec.official_sizes.items())
    for split in ("train", "test"):
        per_class = np.bincount(splits.labels(split), minlength=spec.n_classes)
        print(f"  {split}: {plural(len(splits.labels(split)), 'sample')} (per class {per_class.min()}.."
              f"{per_class.max()})")
    print(f"  published split sizes: {official}")
    stats = dataset_statistics(splits, binning, args.max_samples, config.training.seed,
                               progress=not args.quiet)
    T, n = binning.steps, binning.n_inputs
    events = np.concatenate([s["events"] for s in stats.values()])
    durations = np.concatenate([s["durations_us"] for s in stats.values()])
    widths = np.concatenate([s["bin_widths_us"] for s in stats.values()])
    kept = sum(int(s["kept"].sum()) for s in stats.values())
    used = sum(s["n_used"] for s in stats.values())
    value_sum = sum(s["value_sum"] for s in stats.values())
    nonzero = sum(s["nonzero"] for s in stats.values())
    print(f"  statistics over {plural(used, 'recording')}"
          f"{'' if args.max_samples is None else ' (stratified subset, --max-samples)'}:")
    print(f"    events per sample: {_range(events, fmt='.1f')}"
          f" ({int(np.sum(events == 0))} empty)")
    print(f"    duration (first to last event): {_range(durations, 1000.0, '.1f')} ms")
    print(f"  binning ({path.name}): {binning.describe()}")
    print(f"    bin width: {_range(widths, 1000.0, '.2f')} ms")
    total = int(events.sum())
    print(f"    events in the T bins: {kept} of {total} "
          f"({100.0 * kept / total if total else 100.0:.2f} %)")
    cells = used * T * n
    print(f"    input per step: {value_sum / cells if cells else 0.0:.5f} per input "
          f"({config.data.frame_values}; nonzero in {100.0 * nonzero / cells if cells else 0.0:.3f} "
          f"% of steps x inputs), {value_sum / (used * T) if used else 0.0:.2f} summed over the "
          f"{n} inputs")
    return 0
