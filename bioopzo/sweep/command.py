"""``bioopzo sweep``: run a sweep file's points on dask.distributed (see :mod:`bioopzo.sweep.runner`).

    bioopzo sweep SWEEP.toml [--scheduler ADDRESS | --cluster local|slurm|pbs]
                  [--workers N] [--out DIR] [--dry-run] [--quiet]
"""

from __future__ import annotations

from bioopzo.config import ConfigError
from bioopzo.runs import check_writable_folder
from bioopzo.sweep.cluster import CLUSTER_KINDS, job_script
from bioopzo.sweep.plan import load_sweep
from bioopzo.sweep.runner import format_report, pending_points, plan_text, run_sweep


def cmd_sweep(args) -> int:
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers {args.workers} must be >= 1")
    spec = load_sweep(args.sweep, out=args.out)
    if args.dry_run:
        print(plan_text(spec, pending_points(spec)))
        if args.cluster in ("slurm", "pbs"):
            import logging

            logging.getLogger("distributed").setLevel(logging.ERROR)
            print(f"\n# job script for one {args.cluster} worker (not submitted; "
                  f"--workers {args.workers or 'N'} submits that many jobs):")
            print(job_script(spec, args.cluster))
        return 0
    check_writable_folder(spec.out)
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
    p.add_argument("--out", help="sweep folder (default: the file's out, or runs/sweeps/<name>)")
    p.add_argument("--dry-run", action="store_true",
                   help="list the points (and print the SLURM/PBS job script); run nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)
