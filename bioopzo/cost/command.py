"""``bioopzo cost``: the op-cost report of a trained run, or of a short run of a config.

    bioopzo cost RUN_DIR [--profile NAME | --profile-file F] [--rules opzo,bp,dfa,zo]
                 [--mode dense|pre_gated|factor_gated] [--schedule step|sample]
                 [--samples N] [--learning] [--out DIR] [--overwrite] [--quiet] [-v]
    bioopzo cost --config models/digits_fc.toml [--epochs N] [--limit N] [--device NAME] ...

With ``--config`` the command first trains the config briefly (``--epochs``, default 1, on
``--limit`` samples, default 200; ``--epochs 0`` keeps the initial weights) into
``OUT_run`` (a folder beside the report) and then analyses that run. The report goes to
``--out`` (default ``runs/cost_<run or config name>_<time>``), written to ``OUT.partial``
and renamed when complete; energies print in µJ, rules of equal energy share a rank.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bioopzo.config import DEVICE_NAMES, ConfigError
from bioopzo.cost.counts import MODES, SCHEDULES
from bioopzo.options import (MICRO_JOULE, Progress, add_output_options, add_seed_option,
                             add_verbosity_options, check_output_folder, default_out, plural)

__all__ = ["register", "cmd_cost"]


def register(subparsers) -> None:
    p = subparsers.add_parser("cost", help="op-cost report: what on-chip training with each rule costs")
    p.add_argument("run_dir", nargs="?", help="a finished run folder (bioopzo train --out)")
    p.add_argument("--config", help="model TOML or packaged name: train briefly, then analyse")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--profile", help="packaged profile: loihi1_davies2018 (default), "
                       "loihi1_sanafe, abstract_45nm, loihi2 (needs --profile-file)")
    group.add_argument("--profile-file", help="your own profile TOML (same layout as the packaged ones)")
    p.add_argument("--rules", help="comma-separated rules to cost (default opzo,bp,dfa,zo)")
    p.add_argument("--mode", choices=MODES, default="dense", help="weight-update counting mode")
    p.add_argument("--schedule", choices=SCHEDULES,
                   help="update schedule of the main table (default: the run's own)")
    p.add_argument("--samples", type=int, default=50, help="samples to record (default 50)")
    p.add_argument("--split", choices=("test", "train"), default="test")
    p.add_argument("--learning", action="store_true",
                   help="record a training epoch (noise and learning on) instead of an evaluation")
    p.add_argument("--rule-complexity", type=float, default=1.0,
                   help="multiplier on the synaptic-update cost for rules longer than STDP (assumption)")
    p.add_argument("--no-quantise", action="store_true",
                   help="factor-gated counts from exact non-zeros instead of quantised traces")
    p.add_argument("--epochs", type=int, default=1, help="with --config: training epochs (0: untrained)")
    p.add_argument("--limit", type=int, default=200, help="with --config: samples in the data set")
    p.add_argument("--device", choices=DEVICE_NAMES, help="with --config: device of the short training")
    add_seed_option(p, help="with --config: seed of the short training (default: the config's)")
    add_output_options(p, default="runs/cost_<run or config name>_<time>", what="report folder")
    add_verbosity_options(p)
    p.set_defaults(func=cmd_cost)


def _train_short(args, out: Path) -> Path:
    from bioopzo.config import load_config, resolve_config_path
    from bioopzo.train import train

    if args.epochs < 0:
        raise ConfigError(f"--epochs must be >= 0 (got {args.epochs})")
    over: dict = {"data": {"limit": args.limit}}
    if args.device:
        over["device"] = {"name": args.device}
    if args.seed is not None:
        over["training"] = {"seed": args.seed}
    over.setdefault("training", {})["epochs"] = max(args.epochs, 1)
    config = load_config(resolve_config_path(args.config), over)
    run = out.with_name(out.name + "_run")
    if args.epochs == 0:
        import numpy as np

        from bioopzo.data import load_dataset
        from bioopzo.state import initial_state
        from bioopzo.runs import partial_folder, swap_in_folder, versions

        ds = load_dataset(config.data, config.training.seed)
        state = initial_state(config, ds.n_inputs, ds.n_classes, config.training.seed)
        import json
        import shutil

        partial = partial_folder(run)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        (partial / "config.toml").write_text(config.to_toml())
        np.savez(partial / "weights.npz", **state)
        (partial / "versions.json").write_text(json.dumps(versions(config), indent=2) + "\n")
        swap_in_folder(partial, run)
        return run
    Progress(args.quiet).say(f"training {config.name} ({config.rule.name}) for "
                             f"{plural(args.epochs, 'epoch')} on {plural(args.limit, 'sample')} to "
                             "get a network to analyse")
    train(config, run, overwrite=args.overwrite, progress=not args.quiet,
          echo=(lambda line: None) if args.quiet else print)
    return run


def cmd_cost(args) -> int:
    from bioopzo.cost.analyze import cost_of_run, parse_rules
    from bioopzo.cost.profiles import load_profile
    from bioopzo.cost.report import REPORT_FILES, write_report
    from bioopzo.runs import RUN_FILES
    if bool(args.run_dir) == bool(args.config):
        raise ConfigError("give either a run folder (bioopzo cost RUN_DIR) or --config, not both "
                          "and not neither")
    rules = parse_rules(args.rules)
    profile = load_profile(args.profile, args.profile_file)
    if args.config:
        stem = Path(args.config).stem
        out = Path(args.out) if args.out else default_out("cost", stem)
        check_output_folder(out, args.overwrite, markers=REPORT_FILES, kind="cost report")
        run = out.with_name(out.name + "_run")
        check_output_folder(run, args.overwrite, markers=RUN_FILES, kind="run")
        run_dir = _train_short(args, out)
    else:
        run_dir = Path(args.run_dir)
        out = Path(args.out) if args.out else default_out("cost", run_dir.absolute().name)
        check_output_folder(out, args.overwrite, markers=REPORT_FILES, kind="cost report")
    progress = Progress(args.quiet)
    meta = {"command": " ".join(["bioopzo", *sys.argv[1:]]) if sys.argv else "bioopzo cost"}
    rep = cost_of_run(run_dir, profile=profile, rules=rules, mode=args.mode, schedule=args.schedule,
                      samples=args.samples, split=args.split, learning=args.learning,
                      rule_complexity=args.rule_complexity, quantise=not args.no_quantise, meta=meta,
                      progress=progress)
    progress.say(f"writing the report to {out}...")
    files = write_report(rep, out, overwrite=args.overwrite)
    print(f"{rep.counts.source}; profile {profile.name}; {rep.mode} update counting, "
          f"updates {'every step' if rep.schedule == 'step' else 'once per sample'}")
    ranks = rep.ranks()
    width = max(len(r) for r in rep.rules)
    uj = MICRO_JOULE
    for r in rep.ranking():
        step, sample, ratio = rep.schedule_effect()[r]
        print(f"  {ranks[r]:>3s} {r:{width}s} {rep.total(r) * 1e6:10.3f} {uj} per training sample "
              f"(every step {step * 1e6:.3f} {uj}, once per sample {sample * 1e6:.3f} {uj}: "
              f"{ratio:.2f}x)")
    print("caveats:")
    for k, text in rep.caveats:
        print(f"  {k}. {text}")
    print(f"report: {', '.join(str(f) for f in files)}")
    return 0
