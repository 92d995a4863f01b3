"""``bioopzo tune`` and ``bioopzo compare`` (see :mod:`bioopzo.tuning.studies`).

    bioopzo tune --config MODEL [--rules R ...] [--factors F ...] [--seed S] [--seeds N]
                 [--validation-fraction 0.2] [--epochs N] [--workers W] [--out DIR]
                 [--overwrite] [--quiet] [-v]
    bioopzo compare --config DIR/tuned.toml [--rules R ...] [--seed 1] [--seeds 5]
                    [--baseline bp] [--epochs N] [--workers W] [--out DIR] [--overwrite]

``--seed S --seeds N`` trains the seeds S, S+1, ..., S+N-1 (tune: 1 seed, compare: 5,
from seed 1). Both run as sweeps: the folder (default ``runs/tune_<model>_<time>``,
``runs/compare_<model>_<time>``) is continued when it holds the same study (rerunning skips
finished runs); ``--overwrite`` discards it and starts over.
"""

from __future__ import annotations

from pathlib import Path

from bioopzo.config import resolve_config_path
from bioopzo.options import (Progress, add_output_options, add_seed_option, add_seeds_option,
                             add_verbosity_options, default_out, prepare_resumable_folder, seed_list)
from bioopzo.rules.names import RULE_NAMES
from bioopzo.tuning.studies import DEFAULT_FACTORS, compare, tune


def _echo(args):
    return Progress(args.quiet).say


def cmd_tune(args) -> int:
    config = resolve_config_path(args.config)
    out = Path(args.out) if args.out else default_out("tune", Path(config).stem)
    seeds = seed_list(args.seed, args.seeds)
    prepare_resumable_folder(out, args.overwrite, markers=("tune_sweep.toml",), kind="tuning study")
    result = tune(config, out, rules=args.rules, factors=args.factors, seeds=seeds,
                  validation_fraction=args.validation_fraction, epochs=args.epochs,
                  workers=args.workers, echo=_echo(args), progress=not args.quiet)
    print((result.tuned_config.parent / "tuning.md").read_text())
    edges = [r["rule"] for r in result.rows if r["at_grid_edge"]]
    if edges:
        print(f"note: the chosen rate of {', '.join(edges)} is at the edge of the grid; "
              "widen --factors to be sure it is the best")
    print(f"tuned config: {result.tuned_config}  (compare the rules with: bioopzo compare "
          f"--config {result.tuned_config})")
    return 0


def cmd_compare(args) -> int:
    config = resolve_config_path(args.config)
    name = Path(config).stem if Path(config).stem != "tuned" else Path(config).parent.name
    out = Path(args.out) if args.out else default_out("compare", name)
    seeds = seed_list(args.seed, args.seeds)
    prepare_resumable_folder(out, args.overwrite, markers=("compare_sweep.toml",), kind="comparison")
    compare(config, out, rules=args.rules, seeds=seeds, baseline=args.baseline, epochs=args.epochs,
            workers=args.workers, echo=_echo(args), progress=not args.quiet)
    print((out / "comparison.md").read_text())
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "tune", help="tune each rule's learning rate on a validation split of the training set",
        description="Train every rule at its configured learning rate times each factor, on a "
                    "validation split carved from the training set (the test set is never read), "
                    "and write tuned.toml with the best rate per rule. Runs as a sweep: rerunning "
                    "with the same --out skips finished runs.")
    p.add_argument("--config", required=True, help="model TOML file or packaged name")
    p.add_argument("--rules", nargs="+", default=list(RULE_NAMES), choices=RULE_NAMES)
    p.add_argument("--factors", nargs="+", type=float, default=list(DEFAULT_FACTORS),
                   help="learning-rate factors around each rule's configured rate")
    add_seed_option(p, default=1, help="first tuning seed (default 1)")
    add_seeds_option(p, default=1)
    p.add_argument("--validation-fraction", type=float, default=0.2,
                   help="share of each class of the training set held out for validation")
    p.add_argument("--epochs", type=int, help="training epochs (default: the model file's)")
    p.add_argument("--workers", type=int, help="parallel runs (default: CPU count)")
    add_output_options(p, default="runs/tune_<model>_<time>; a folder holding the same study is "
                       "continued", what="tuning folder")
    add_verbosity_options(p)
    p.set_defaults(func=cmd_tune)

    p = subparsers.add_parser(
        "compare", help="train every rule over seeds; test accuracy and paired differences",
        description="Train every rule with every seed (on the test set) and write comparison.md: "
                    "mean ± sd and the paired difference to the baseline rule with its 95 % "
                    "interval. Runs as a sweep: rerunning with the same --out skips finished runs.")
    p.add_argument("--config", required=True, help="model TOML file (typically a tuned.toml)")
    p.add_argument("--rules", nargs="+", default=list(RULE_NAMES), choices=RULE_NAMES)
    add_seed_option(p, default=1, help="first seed (default 1)")
    add_seeds_option(p, default=5)
    p.add_argument("--baseline", default="bp", choices=RULE_NAMES)
    p.add_argument("--epochs", type=int, help="training epochs (default: the model file's)")
    p.add_argument("--workers", type=int, help="parallel runs (default: CPU count)")
    add_output_options(p, default="runs/compare_<model>_<time>; a folder holding the same study is "
                       "continued", what="comparison folder")
    add_verbosity_options(p)
    p.set_defaults(func=cmd_compare)
