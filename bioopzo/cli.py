"""bioopzo: OPZO and its baselines as Brian2 equations (train, evaluate, analyse).

Commands ``bioopzo train``, ``bioopzo evaluate``, ``bioopzo models``, and the
subcommands of the modules listed in ``COMMAND_MODULES``.

    bioopzo train [--config models/digits_fc.toml] [--rule opzo|bp|dfa|zo|readout]
                  [--device cpp_standalone|runtime] [--epochs N] [--seed S] [--out DIR]
    bioopzo train --resume DIR
    bioopzo evaluate RUN_DIR [--device NAME]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from bioopzo.config import DEVICE_NAMES, ConfigError, load_config, packaged_models, resolve_config_path
from bioopzo.rules.names import RULE_NAMES


def command_status(command) -> int:
    """Run ``command()`` (a command-line entry point returning its exit status) and
    turn the errors a user can act on into a message and a status: 2 for bad input
    (:class:`~bioopzo.config.ConfigError`), 3 for a diverged run (FloatingPointError,
    e.g. :class:`bioopzo.train.TrainingDiverged`)."""
    try:
        return command()
    except ConfigError as exc:
        print(f"bioopzo: error: {exc}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:
        print(f"bioopzo: error: {exc}", file=sys.stderr)
        return 3


def config_overrides(args) -> dict:
    """The config overrides that ``bioopzo train``'s options make (nested like the TOML file)."""
    over: dict = {}
    if args.rule:
        over.setdefault("rule", {})["name"] = args.rule
    if args.device:
        over.setdefault("device", {})["name"] = args.device
    if args.threads is not None:
        over.setdefault("device", {})["threads"] = args.threads
    if args.epochs is not None:
        over.setdefault("training", {})["epochs"] = args.epochs
    if args.seed is not None:
        over.setdefault("training", {})["seed"] = args.seed
    if args.limit is not None:
        over.setdefault("data", {})["limit"] = args.limit
    if getattr(args, "data_dir", None) is not None:   # absolute, so `evaluate` finds it again
        over.setdefault("data", {})["data_dir"] = str(Path(args.data_dir).expanduser().absolute())
    return over


def cmd_train(args) -> int:
    from bioopzo.train import resume, train

    if args.resume:
        given = [f"--{k.replace('_', '-')}" for k in ("config", "rule", "device", "threads", "epochs",
                                                      "seed", "limit", "out")
                 if getattr(args, k) is not None] + (["--overwrite"] if args.overwrite else [])
        if given:
            raise ConfigError(f"--resume continues a run with the config it was started with; "
                              f"drop {', '.join(given)}")
        result = resume(args.resume, progress=not args.quiet, keep_build=args.keep_build)
        print(f"test accuracy {100 * result.test_accuracy:.1f} % "
              f"({result.config.rule.name}, {result.config.training.epochs} epochs); "
              f"run folder: {result.run_dir}")
        return 0
    config = load_config(resolve_config_path(args.config), config_overrides(args))
    out = Path(args.out) if args.out else Path("runs") / (
        f"{config.name}_{config.rule.name}_seed{config.training.seed}_{time.strftime('%Y%m%d-%H%M%S')}")
    result = train(config, out, overwrite=args.overwrite, progress=not args.quiet,
                   keep_build=args.keep_build)
    print(f"test accuracy {100 * result.test_accuracy:.1f} % "
          f"({config.rule.name}, {config.training.epochs} epochs); run folder: {result.run_dir}")
    return 0


def cmd_evaluate(args) -> int:
    from bioopzo.train import evaluate

    res = evaluate(args.run_dir, device=args.device)
    print(f"test accuracy {100 * res['test_accuracy']:.1f} % on {res['n_test']} test samples "
          f"(device {res['device']}, learning off)")
    return 0


def cmd_models(args) -> int:
    for name, path in sorted(packaged_models().items()):
        config = load_config(path)
        print(f"{name:16s} {config.data.dataset:10s} hidden {list(config.network.hidden)} "
              f"rule {config.rule.name}")
    return 0


#: Modules that add their own subcommands: each defines ``register(subparsers)``,
#: which adds a parser and sets its ``func`` (``func(args) -> exit status``).
COMMAND_MODULES: tuple[str, ...] = (
    "bioopzo.data.command",
    "bioopzo.cost.command",
    "bioopzo.plasticity.command",
    "bioopzo.analysis.command",
    "bioopzo.sweep.command",
    "bioopzo.tuning.command",
    "bioopzo.devices.command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bioopzo", description=__doc__.split("\n")[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="log what the devices do")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a network and write a run folder")
    p.add_argument("--config", help="model TOML file or packaged name (default: digits_fc)")
    p.add_argument("--rule", choices=RULE_NAMES, help="learning rule (applies [per_rule] overrides)")
    p.add_argument("--device", choices=DEVICE_NAMES)
    p.add_argument("--threads", type=int, help="OpenMP threads for cpp_standalone")
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--limit", type=int, help="use a stratified subset of this many samples")
    p.add_argument("--data-dir", help="folder holding an event data set (NMNIST/, SHD/, DVSGesture/); "
                                      "overrides [data] data_dir")
    p.add_argument("--out", help="run folder (default: runs/<name>_<rule>_seed<S>_<time>)")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--keep-build", action="store_true",
                   help="keep the generated Brian2 C++ project in the run folder")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue an interrupted run (its --out folder) from its last complete epoch")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="reload a run's weights and report test accuracy")
    p.add_argument("run_dir")
    p.add_argument("--device", choices=DEVICE_NAMES)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("models", help="list the packaged model configs")
    p.set_defaults(func=cmd_models)

    import importlib

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(name)s: %(message)s")
    logging.getLogger("brian2").setLevel(logging.ERROR)
    return command_status(lambda: args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
