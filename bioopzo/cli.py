"""bioopzo: OPZO and its baselines as Brian2 equations (train, evaluate, analyse).

Commands ``bioopzo train``, ``bioopzo evaluate``, ``bioopzo models``, and the
subcommands of the modules listed in ``COMMAND_MODULES``.

    bioopzo train [--config models/digits_fc.toml] [--rule opzo|bp|dfa|zo|readout]
                  [--device cpp_standalone|runtime] [--epochs N] [--seed S] [--out DIR]
    bioopzo train --resume DIR
    bioopzo evaluate RUN_DIR [--device NAME]

Exit status (every subcommand, :func:`command_status`): 0 done; 1 an internal error
(the message names the log file holding the traceback); 2 bad input or an environment
problem (one line: the problem and the fix; nothing half-written); 3 a diverged run;
130 / 143 interrupted by SIGINT / SIGTERM (training says how to continue).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path

from bioopzo.config import DEVICE_NAMES, ConfigError, load_config, packaged_models, resolve_config_path
from bioopzo.options import add_output_options, add_seed_option, add_verbosity_options, plural
from bioopzo.errors import Interrupted
from bioopzo.rules.names import RULE_NAMES


#: the fix to suggest for each kind of environment problem (OSError subclasses)
ENVIRONMENT_FIXES: tuple[tuple[type, str], ...] = (
    (PermissionError, "choose a path you can write to (--out), or change its permissions"),
    (NotADirectoryError, "a part of this path is a file, not a folder; choose a path under a folder"),
    (FileExistsError, "remove it, or choose another path"),
    (IsADirectoryError, "pass a file, not a folder"),
    (FileNotFoundError, "check the path"),
)


def environment_message(exc: OSError) -> str:
    """One line for an environment problem: what failed, on which path, and the fix."""
    fix = next((text for cls, text in ENVIRONMENT_FIXES if isinstance(exc, cls)),
               "check the path, its permissions and the free disk space")
    problem = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        problem += f": {exc.filename}"
    if getattr(exc, "filename2", None) is not None:
        problem += f" -> {exc.filename2}"
    return " ".join(f"{problem}; {fix}".split())


def write_error_log(exc: BaseException, folders: tuple = ()) -> Path:
    """Write ``exc``'s full traceback to ``error.log`` in the first of ``folders`` that is an
    existing folder (a run folder), else to a named file in the temporary folder; returns it."""
    import tempfile
    import traceback

    from bioopzo.runs import write_atomic

    text = (f"bioopzo {' '.join(sys.argv[1:])}\n{time.strftime('%Y-%m-%d %H:%M:%S')}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    for folder in folders:
        if folder is not None and Path(folder).is_dir():
            try:
                return write_atomic(Path(folder) / "error.log", text)
            except OSError:
                pass
    name = f"bioopzo-error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    return write_atomic(Path(tempfile.gettempdir()) / name, text)


def command_status(command, log_folders: tuple = ()) -> int:
    """Run ``command()`` (a command-line entry point returning its exit status): bioopzo's
    error boundary. Every failure ends with one line on stderr and a status:

    - 2: bad input (:class:`~bioopzo.errors.ConfigError`) or an environment problem
      (an ``OSError``: an unwritable or impossible path, an unreadable file);
    - 3: a diverged run (FloatingPointError, e.g. :class:`bioopzo.train.TrainingDiverged`);
    - 130 / 143: interrupted by SIGINT / SIGTERM (:class:`~bioopzo.errors.Interrupted`;
      the command says how to continue);
    - 1: anything else, an internal error: a short message, and the full traceback in
      ``error.log`` of the first existing folder of ``log_folders`` (the run folder) or in
      a named file of the temporary folder, whose path the message gives.
    """
    try:
        return command()
    except ConfigError as exc:
        print(f"bioopzo: error: {exc}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:
        print(f"bioopzo: error: {exc}", file=sys.stderr)
        return 3
    except OSError as exc:
        print(f"bioopzo: error: {environment_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        interrupted = exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT)
        print(f"bioopzo: {interrupted.message or 'interrupted'}", file=sys.stderr)
        return interrupted.exit_status
    except Exception as exc:
        first = " ".join(str(exc).split())[:300]
        try:
            where = f"the full log is in {write_error_log(exc, log_folders)}"
        except OSError as log_exc:
            where = f"no log could be written ({environment_message(log_exc)})"
        print(f"bioopzo: internal error: {type(exc).__name__}: {first}; {where} "
              "(please report it with that log)", file=sys.stderr)
        return 1


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


def interrupted_training(out: Path, exc: KeyboardInterrupt) -> Interrupted:
    """The :class:`~bioopzo.errors.Interrupted` for a training run of ``out`` stopped by
    ``exc``: the epoch it stopped in and how to continue (the checkpoint is kept)."""
    from bioopzo.runs import CHECKPOINT, checkpoint_epoch, partial_folder

    signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
    partial = partial_folder(out)
    if (partial / CHECKPOINT).exists():
        done = checkpoint_epoch(partial)
        epoch = done + 1 if isinstance(done, int) else "?"
        message = f"interrupted in epoch {epoch}; continue with: bioopzo train --resume {out}"
    else:
        message = ("interrupted in epoch 1, before any epoch finished (nothing to keep); "
                   "start the run again")
    return Interrupted(signum, message)


#: Brian2's error when ``make`` was killed by SIGINT (status 2 of ``os.system``): a Ctrl-C
#: in the terminal during compilation (``system()`` ignores SIGINT in the waiting Python)
COMPILATION_INTERRUPTED = "compilation failed (error code: 2)"


def train_or_resume(run, out: Path):
    """``run()`` (a training or a resumed run of ``out``), with an interrupt (also one
    that stopped the compiler) turned into :func:`interrupted_training`'s message."""
    try:
        return run()
    except KeyboardInterrupt as exc:
        raise interrupted_training(out, exc) from None
    except RuntimeError as exc:
        if COMPILATION_INTERRUPTED in str(exc):
            raise interrupted_training(out, Interrupted(signal.SIGINT)) from None
        raise


def cmd_train(args) -> int:
    from bioopzo.train import resume, train

    if args.resume:
        given = [f"--{k.replace('_', '-')}" for k in ("config", "rule", "device", "threads", "epochs",
                                                      "seed", "limit", "out")
                 if getattr(args, k) is not None] + (["--overwrite"] if args.overwrite else [])
        if given:
            raise ConfigError(f"--resume continues a run with the config it was started with; "
                              f"drop {', '.join(given)}")
        out = Path(args.resume)
        if out.name.endswith(".partial"):
            out = out.with_name(out.name[: -len(".partial")])
        result = train_or_resume(lambda: resume(args.resume, progress=not args.quiet,
                                                keep_build=args.keep_build), out)
        print(f"test accuracy {100 * result.test_accuracy:.1f} % "
              f"({result.config.rule.name}, {plural(result.config.training.epochs, 'epoch')}); "
              f"run folder: {result.run_dir}")
        return 0
    config = load_config(resolve_config_path(args.config), config_overrides(args))
    out = Path(args.out) if args.out else Path("runs") / (
        f"{config.name}_{config.rule.name}_seed{config.training.seed}_{time.strftime('%Y%m%d-%H%M%S')}")
    result = train_or_resume(lambda: train(config, out, overwrite=args.overwrite,
                                           progress=not args.quiet, keep_build=args.keep_build),
                             out)
    print(f"test accuracy {100 * result.test_accuracy:.1f} % "
          f"({config.rule.name}, {plural(config.training.epochs, 'epoch')}); run folder: {result.run_dir}")
    return 0


def cmd_evaluate(args) -> int:
    from bioopzo.train import evaluate

    print(f"evaluating {args.run_dir} (learning off)", flush=True)
    res = evaluate(args.run_dir, device=args.device)
    recorded = res["recorded_test_accuracy"]
    if recorded is None:
        note = ""
    elif res["replayed"]:
        note = f"; the run recorded {100 * recorded:.1f} %, replayed with its test seed"
    else:
        note = (f"; the run recorded {100 * recorded:.1f} % (another device or an older run: "
                "rate-coded inputs are drawn anew, so the two agree only statistically)")
    print(f"test accuracy {100 * res['test_accuracy']:.1f} % on {res['n_test']} test samples "
          f"(device {res['device']}, learning off{note})")
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
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log what the devices do (also accepted after the subcommand)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a network and write a run folder")
    p.add_argument("--config", help="model TOML file or packaged name (default: digits_fc)")
    p.add_argument("--rule", choices=RULE_NAMES, help="learning rule (applies [per_rule] overrides)")
    p.add_argument("--device", choices=DEVICE_NAMES)
    p.add_argument("--threads", type=int, help="OpenMP threads for cpp_standalone")
    p.add_argument("--epochs", type=int)
    add_seed_option(p)
    p.add_argument("--limit", type=int, help="use a stratified subset of this many samples")
    p.add_argument("--data-dir", help="folder holding an event data set (NMNIST/, SHD/, DVSGesture/); "
                                      "overrides [data] data_dir")
    add_output_options(p, default="runs/<name>_<rule>_seed<S>_<time>", what="run folder")
    add_verbosity_options(p)
    p.add_argument("--keep-build", action="store_true",
                   help="keep the generated Brian2 C++ project in the run folder")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue an interrupted run (its --out folder) from its last complete epoch")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="reload a run's weights and report test accuracy")
    p.add_argument("run_dir")
    p.add_argument("--device", choices=DEVICE_NAMES)
    add_verbosity_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("models", help="list the packaged model configs")
    add_verbosity_options(p, quiet=False)
    p.set_defaults(func=cmd_models)

    import importlib

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


@contextlib.contextmanager
def signals_interrupt():
    """While the block runs, SIGINT and SIGTERM raise :class:`~bioopzo.errors.Interrupted`
    at once (the previous handlers come back afterwards). Brian2's own SIGINT handler,
    which would only ask a running simulation to stop and let it return half a run, is
    replaced, and compiled binaries are built without theirs
    (``core.stop_on_keyboard_interrupt``): a binary running when the signal comes is
    killed by the waiting call (``subprocess.call`` kills its child on an exception).
    An interrupt raised where Python cannot pass it on (in a finalizer or a weakref
    callback, which only print it) is sent again a moment later, so it is never lost."""
    import threading

    from brian2 import prefs

    def interrupt(signum, frame):
        raise Interrupted(signum)

    def unraisable(info):
        if isinstance(info.exc_value, Interrupted):
            threading.Timer(0.01, os.kill, (os.getpid(), info.exc_value.signum)).start()
        else:
            previous_hook(info)

    stop_pref = prefs.core.stop_on_keyboard_interrupt
    prefs.core.stop_on_keyboard_interrupt = False
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = previous_hook
        prefs.core.stop_on_keyboard_interrupt = stop_pref


def run_folders(args) -> tuple:
    """The run folders a command works in (``OUT.partial`` first): where an internal
    error's log goes."""
    from bioopzo.runs import partial_folder

    folders = []
    for name in ("resume", "run_dir") + (("out",) if args.command == "train" else ()):
        value = getattr(args, name, None)
        if value:
            folders += [partial_folder(Path(value)), Path(value)]
    return tuple(folders)


def main(argv: list[str] | None = None) -> int:
    """``bioopzo ...``: parse the command line and run the subcommand inside the error
    boundary (:func:`command_status`), with SIGINT and SIGTERM as clean interrupts."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(name)s: %(message)s")
    logging.getLogger("brian2").setLevel(logging.ERROR)
    with signals_interrupt():
        return command_status(lambda: args.func(args), run_folders(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
