"""``bioopzo analyze <analysis>``: run one analysis and write its
CSV table, PNG figure and JSON record into ``--out`` (default
``runs/analyses/<analysis>_<time>``; the sweeps' training runs go to ``--out/runs/<analysis>``).

    bioopzo analyze variance|alignment|jacobian|noise|momentum|depth
                    [--config MODEL] [--epochs N] [--limit N] [--seed S] [--seeds N]
                    [--workers W] [--backend reference|brian2] [--full] [--out DIR]
                    [--overwrite] [--quiet] [-v]

Defaults are sized to run in minutes on 2 cores; ``--full`` runs the
full grid (3 seeds, all epochs of the model file, both data sets for noise).
``--seed S --seeds N`` runs the seeds S, S+1, ..., S+N-1 (default 1 seed; --full: 3).
The output is written to ``OUT.partial`` and renamed to ``OUT`` when complete (an
interrupted analysis's sweeps continue there when rerun with the same --out).
The repository's scripts (``analyses/<analysis>.py``) write into the shared results
folder ``analyses/results`` instead (:func:`script_main`).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from bioopzo.config import ConfigError
from bioopzo.options import (Progress, add_output_options, add_seed_option,
                             add_verbosity_options, check_output_folder, default_out,
                             replace_output_folder, seed_list)

ANALYSES = ("variance", "alignment", "jacobian", "noise", "momentum", "depth")

#: model file, overrides at the default size, overrides with --full, and (default, full) epochs.
#: The sweeps' default size uses a stratified 600-sample subset of digits (480 train, 120 test).
#: The two-layer analyses use a 2.5x forward init, so both random layers fire from the start
#: (with gain 1 the second layer of digits_fc2 is silent at first: README, readout control).
SUBSET = {"data": {"limit": 600}}
ACTIVE = {"network": {"weight_init_gain": 2.5}}
DEFAULTS = {
    "variance": ("digits_fc2", ACTIVE, ACTIVE, (3, 12)),
    "alignment": ("digits_fc2", ACTIVE, ACTIVE, (3, 12)),
    "jacobian": ("digits_fc2", ACTIVE, ACTIVE, (2, 8)),
    "noise": ("digits_fc", SUBSET, {}, (3, None)),
    "momentum": ("digits_fc2", {**ACTIVE, **SUBSET}, ACTIVE, (3, None)),
    "depth": ("digits_fc", {**ACTIVE, **SUBSET}, ACTIVE, (3, None)),
}


def register(subparsers) -> None:
    p = subparsers.add_parser("analyze", help="run an OPZO analysis (variance, alignment, jacobian, "
                              "noise, momentum, depth) and write its figure and table")
    p.add_argument("analysis", choices=ANALYSES)
    add_analysis_options(p)
    p.set_defaults(func=cmd_analyze)


def add_analysis_options(p) -> None:
    """Every option of ``bioopzo analyze`` but the analysis's name."""
    p.add_argument("--config", help="model TOML file or packaged name (default: per analysis; a given "
                   "config replaces the analysis's default model and its default overrides)")
    p.add_argument("--epochs", type=int, help="training epochs (default: per analysis and size)")
    p.add_argument("--limit", type=int, help="use a stratified subset of this many samples")
    add_seed_option(p, default=1, help="first seed of the sweeps (default 1)")
    p.add_argument("--seeds", type=int, metavar="N",
                   help="number of seeds: --seed, --seed + 1, ... (default 1; --full: 3)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel training processes of the sweeps (a local dask cluster above 1: the "
                   "sweep extra; default 2 where dask.distributed is installed, else 1)")
    p.add_argument("--backend", choices=("reference", "brian2"), default="reference",
                   help="sweeps: reference.py batch-1 training (default) or the Brian2 model")
    p.add_argument("--full", action="store_true", help="the full grid (hours)")
    add_output_options(p, default="runs/analyses/<analysis>_<time>",
                       what="folder for the table, figure, record and the sweeps' runs")
    add_verbosity_options(p)


def make_config(args):
    from bioopzo.config import deep_merge, load_config, resolve_config_path

    model, default_over, full_over, (epochs, full_epochs) = DEFAULTS[args.analysis]
    over = deep_merge(full_over if args.full else default_over, {}) if args.config is None else {}
    path = resolve_config_path(args.config or model)
    epochs = args.epochs or (full_epochs if args.full else epochs)
    if epochs is not None:
        over = deep_merge(over, {"training": {"epochs": epochs}})
    if args.limit is not None:
        over = deep_merge(over, {"data": {"limit": args.limit}})
    return load_config(path, over)


def checked_analysis_config(args):
    """The analysis's config, with every option checked (ConfigError naming the allowed
    range): what :func:`run_analysis` runs, refused before anything is printed or written."""
    from bioopzo.train import checked_dataset

    for option, value in (("--epochs", args.epochs), ("--limit", args.limit)):
        if value is not None and value < 1:
            raise ConfigError(f"{option} {value} must be at least 1")
    if args.workers is None:
        args.workers = 2 if importlib.util.find_spec("distributed") else 1
    if args.workers < 1:
        raise ConfigError(f"--workers {args.workers} must be at least 1")
    config = make_config(args)
    checked_dataset(config)   # a --limit that leaves a split empty is refused with the range
    return config


def run_analysis(args, echo=print, run_root: str | Path | None = None):
    """Run the analysis named by ``args.analysis``; returns its result object. The sweeps'
    training runs go to ``run_root`` (default ``args.out/runs/<analysis>``)."""
    from bioopzo.analysis import alignment, depth, jacobian, momentum, noise, variance

    config = checked_analysis_config(args)
    seeds = seed_list(args.seed, args.seeds or (3 if args.full else 1))
    runs = Path(run_root) if run_root is not None else Path(args.out) / "runs" / args.analysis
    a = args.analysis
    if a == "variance":
        return variance.run(config.with_overrides({"rule": {"name": "opzo"}}),
                            probe_samples=300 if args.full else 100,
                            checkpoints_per_epoch=4 if args.full else 2, echo=echo)
    if a == "alignment":
        return alignment.run(config, rules=("opzo", "dfa", "zo"), seeds=seeds,
                             probe_samples=300 if args.full else 100,
                             checkpoints_per_epoch=4 if args.full else 3, echo=echo)
    if a == "jacobian":
        return jacobian.run(config, rhos=(0.0, 0.99, 0.999, 0.9999, 0.99999),
                            alphas=(0.1, 0.25, 1.0, 2.0) if args.full else (0.1, 1.0), batches=(1, 32),
                            probe_samples=400 if args.full else 200, echo=echo)
    if a == "noise":
        return noise.run(config, datasets=("digits", "mnist1d") if args.full else (config.data.dataset,),
                         seeds=seeds, grid=noise.FULL_GRID if args.full else noise.DEFAULT_GRID,
                         backend=args.backend, workers=args.workers, run_root=runs, echo=echo)
    if a == "momentum":
        rhos = (0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999) if args.full else (0.0, 0.9, 0.99, 0.999, 0.9999)
        return momentum.run(config, rhos=rhos, seeds=seeds, backend=args.backend, workers=args.workers,
                            run_root=runs, echo=echo)
    return depth.run(config, depths=(1, 2, 3, 4), seeds=seeds, backend=args.backend,
                     workers=args.workers, run_root=runs, echo=echo)


#: the file name (without extension) of each analysis's table, figure and record
TABLE_NAMES = {"variance": "gradient_variance", "alignment": "gradient_alignment",
               "jacobian": "jacobian_estimation", "noise": "noise_robustness",
               "momentum": "momentum", "depth": "depth"}


def _analysis_markers(analysis: str) -> tuple[str, ...]:
    name = TABLE_NAMES[analysis]
    return (f"{name}.json", f"{name}.csv", f"{name}.png", "runs")


def cmd_analyze(args) -> int:
    t0 = time.perf_counter()
    out = Path(args.out) if args.out else default_out(f"analyses/{args.analysis}")
    check_output_folder(out, args.overwrite, markers=_analysis_markers(args.analysis),
                        kind=f"{args.analysis} analysis")
    partial = out.with_name(out.name + ".partial")
    args.out = str(out)
    checked_analysis_config(args)
    progress = Progress(args.quiet)
    progress.say(f"analysis {args.analysis} ({'full' if args.full else 'default'} size) into {out}")
    result = run_analysis(args, echo=progress.say, run_root=partial / "runs" / args.analysis)
    progress.say(f"writing the table, figure and record of {args.analysis}...")
    result.write(partial)
    replace_output_folder(partial, out)
    print("\n".join(result.headline()))
    files = [out / f"{result.name}.{ext}" for ext in ("csv", "png", "json")]
    print(f"wrote {', '.join(str(p) for p in files)} ({time.perf_counter() - t0:.0f} s)")
    return 0


def script_main(analysis: str, argv: list[str]) -> int:
    """``python analyses/<analysis>.py [options]``: as ``bioopzo analyze <analysis>``, but
    the files go into the repository's shared results folder (``--out``, default
    ``analyses/results``), replacing this analysis's earlier table, figure and record
    there; its sweeps' runs go to ``<out>/runs/<analysis>``."""
    import argparse
    import logging
    import sys

    parser = argparse.ArgumentParser(prog=f"analyses/{analysis}.py",
                                     description=f"bioopzo analyze {analysis}, written into "
                                                 "analyses/results")
    add_analysis_options(parser)
    parser.set_defaults(analysis=analysis)
    args = parser.parse_args(argv)
    args.out = args.out or "analyses/results"
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(name)s: %(message)s")
    logging.getLogger("brian2").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    progress = Progress(args.quiet)
    try:
        progress.say(f"analysis {analysis} ({'full' if args.full else 'default'} size) into {args.out}")
        result = run_analysis(args, echo=progress.say)
        paths = result.write(args.out)
    except ConfigError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(result.headline()))
    print(f"wrote {', '.join(str(p) for p in paths.values())} ({time.perf_counter() - t0:.0f} s)")
    return 0
