"""``bioopzo tune`` and ``bioopzo compare`` (see :mod:`bioopzo.tuning.studies`).

    bioopzo tune --config MODEL [--rules R ...] [--factors F ...] [--seeds S ...]
                 [--validation-fraction 0.2] [--epochs N] [--workers W] --out DIR
    bioopzo compare --config DIR/tuned.toml [--rules R ...] [--seeds 1 2 3 4 5]
                    [--baseline bp] [--epochs N] [--workers W] --out DIR
"""

from __future__ import annotations

from pathlib import Path

from bioopzo.config import resolve_config_path
from bioopzo.rules.names import RULE_NAMES
from bioopzo.tuning.studies import DEFAULT_FACTORS, compare, tune


def cmd_tune(args) -> int:
    result = tune(resolve_config_path(args.config), args.out, rules=args.rules, factors=args.factors,
                  seeds=args.seeds, validation_fraction=args.validation_fraction, epochs=args.epochs,
                  workers=args.workers)
    print((result.tuned_config.parent / "tuning.md").read_text())
    edges = [r["rule"] for r in result.rows if r["at_grid_edge"]]
    if edges:
        print(f"note: the chosen rate of {', '.join(edges)} is at the edge of the grid; "
              "widen --factors to be sure it is the best")
    print(f"tuned config: {result.tuned_config}  (compare the rules with: bioopzo compare "
          f"--config {result.tuned_config} --out DIR)")
    return 0


def cmd_compare(args) -> int:
    compare(resolve_config_path(args.config), args.out, rules=args.rules, seeds=args.seeds,
            baseline=args.baseline, epochs=args.epochs, workers=args.workers)
    print((Path(args.out) / "comparison.md").read_text())
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "tune", help="tune each rule's learning rate on a validation split of the training set",
        description="Train every rule at its configured learning rate times each factor, on a "
                    "validation split carved from the training set (the test set is never read), "
                    "and write tuned.toml with the best rate per rule. Runs as a sweep: rerunning "
                    "skips finished runs.")
    p.add_argument("--config", required=True, help="model TOML file or packaged name")
    p.add_argument("--rules", nargs="+", default=list(RULE_NAMES), choices=RULE_NAMES)
    p.add_argument("--factors", nargs="+", type=float, default=list(DEFAULT_FACTORS),
                   help="learning-rate factors around each rule's configured rate")
    p.add_argument("--seeds", nargs="+", type=int, default=[1], help="tuning seeds (mean is scored)")
    p.add_argument("--validation-fraction", type=float, default=0.2,
                   help="share of each class of the training set held out for validation")
    p.add_argument("--epochs", type=int, help="training epochs (default: the model file's)")
    p.add_argument("--workers", type=int, help="parallel runs (default: CPU count)")
    p.add_argument("--out", required=True, help="tuning folder")
    p.set_defaults(func=cmd_tune)

    p = subparsers.add_parser(
        "compare", help="train every rule over seeds; test accuracy and paired differences",
        description="Train every rule with every seed (on the test set) and write comparison.md: "
                    "mean ± sd and the paired difference to the baseline rule with its 95 % "
                    "interval. Runs as a sweep: rerunning skips finished runs.")
    p.add_argument("--config", required=True, help="model TOML file (typically a tuned.toml)")
    p.add_argument("--rules", nargs="+", default=list(RULE_NAMES), choices=RULE_NAMES)
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    p.add_argument("--baseline", default="bp", choices=RULE_NAMES)
    p.add_argument("--epochs", type=int, help="training epochs (default: the model file's)")
    p.add_argument("--workers", type=int, help="parallel runs (default: CPU count)")
    p.add_argument("--out", required=True, help="comparison folder")
    p.set_defaults(func=cmd_compare)
