"""``bioopzo sweep``: run a sweep file's points on dask.distributed (see :mod:`bioopzo.sweep.runner`).

    bioopzo sweep SWEEP.toml [--scheduler ADDRESS | --cluster local|slurm|pbs]
                  [--workers N] [--out DIR] [--overwrite] [--dry-run] [--quiet] [-v]

The sweep folder (``--out``, default: the file's ``out``, or ``runs/sweeps/<name>``) is
continued when it holds the same sweep (its ``sweep.toml``): finished points are skipped.
``--overwrite`` discards it and starts over; any other non-empty folder is refused.
``--dry-run`` prints the plan (and a SLURM/PBS job script) without dask's log lines.
"""

from __future__ import annotations

from bioopzo.config import ConfigError
from bioopzo.options import (add_output_options, add_verbosity_options, prepare_resumable_folder,
                             silence_loggers)
from bioopzo.sweep.cluster import CLUSTER_KINDS, job_script
from bioopzo.sweep.plan import load_sweep
from bioopzo.sweep.runner import format_report, pending_points, plan_text, run_sweep


#: files that mark a folder as a sweep's own (the copy of the sweep file, the driver's lock)
SWEEP_MARKERS = ("sweep.toml", ".sweep.lock")


def cmd_sweep(args) -> int:
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers {args.workers} must be >= 1")
    spec = load_sweep(args.sweep, out=args.out)
    if args.dry_run:
        print(plan_text(spec, pending_points(spec)))
        if args.cluster in ("slurm", "pbs"):
            import importlib.util

            for package in ("distributed", "dask_jobqueue"):   # their loggers exist once imported
                if importlib.util.find_spec(package):
                    __import__(package)
            silence_loggers("distributed", "dask", "dask_jobqueue", "tornado", "asyncio")
            print(f"\n# job script for one {args.cluster} worker (not submitted; "
                  f"--workers {args.workers or 'N'} submits that many jobs):")
            print(job_script(spec, args.cluster))
        return 0
    prepare_resumable_folder(spec.out, args.overwrite, markers=SWEEP_MARKERS, kind="sweep")
    report = run_sweep(spec, scheduler=args.scheduler, cluster=args.cluster or "local",
                       workers=args.workers, progress=not args.quiet)
    print(format_report(report, spec))
    return 0 if report.ok else 1


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="run many training runs (a grid of overrides x seeds) on dask",
        description="Run every point of a sweep file as its own training run, in its own "
                    "process, on a dask cluster; rerunning skips completed points.")
    p.add_argument("sweep", help="sweep TOML file, or a packaged sweep name (rules_x_seeds)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="an existing dask scheduler (tcp://host:8786); its workers need "
                            "bioopzo installed and the output folder on a shared file system")
    where.add_argument("--cluster", choices=CLUSTER_KINDS,
                       help="start a cluster: local processes (default), or SLURM/PBS jobs via "
                            "dask-jobqueue (job options in the sweep file's [cluster.slurm])")
    p.add_argument("--workers", type=int,
                   help="workers (local processes or batch jobs, one thread each); default: "
                        "min(points to run, CPU count)")
    add_output_options(p, default="the file's out, or runs/sweeps/<name>; a folder holding the "
                       "same sweep is continued", what="sweep folder")
    p.add_argument("--dry-run", action="store_true",
                   help="list the points (and print the SLURM/PBS job script); run nothing")
    add_verbosity_options(p)
    p.set_defaults(func=cmd_sweep)
