"""Where a sweep's tasks run: dask.distributed clusters, and independent tasks in parallel.

A sweep runs on an existing dask scheduler, a local cluster of single-threaded
worker processes, or SLURM/PBS batch jobs started by dask-jobqueue (one
single-threaded worker per job; job options in the sweep file's ``[cluster.slurm]``
or ``[cluster.pbs]``). :func:`run_tasks` runs any picklable function over a list of
tasks on a local cluster of such workers, results in task order (the analyses
train their configs with it).
"""

from __future__ import annotations

import logging
import shutil

from bioopzo.config import ConfigError
from bioopzo.sweep.plan import SweepSpec

__all__ = ["CLUSTER_KINDS", "ALLOWED_WORKER_DEATHS", "DEPENDENCY_HINT", "require_dask",
           "job_script", "check_submit_command", "dask_settings", "local_cluster", "start_client",
           "run_tasks"]

CLUSTER_KINDS = ("local", "slurm", "pbs")
#: how often the scheduler reschedules a task whose worker died before it gives up
ALLOWED_WORKER_DEATHS = 3
#: dask-jobqueue defaults for one single-threaded worker per job (override in [cluster.slurm])
JOBQUEUE_DEFAULTS = {"cores": 1, "processes": 1, "memory": "4GB", "walltime": "02:00:00"}
DEPENDENCY_HINT = "bioopzo sweep needs dask.distributed and pyarrow: pip install 'bioopzo[sweep]'"


def require_dask() -> None:
    """A :class:`~bioopzo.config.ConfigError` naming the extra to install when dask or
    pyarrow is missing."""
    try:
        import distributed  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        raise ConfigError(DEPENDENCY_HINT) from None


def _jobqueue_cluster(kind: str, spec: SweepSpec, dashboard: bool = True):
    try:
        import dask_jobqueue
    except ImportError:
        raise ConfigError(f"--cluster {kind} needs dask-jobqueue: pip install 'bioopzo[sweep]'") \
            from None
    cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[kind]
    kwargs = {**JOBQUEUE_DEFAULTS, **spec.cluster.get(kind, {})}
    if not dashboard:
        kwargs["scheduler_options"] = {**kwargs.get("scheduler_options", {}), "dashboard": False,
                                       "dashboard_address": ":0"}   # any free port
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{spec.path}: [cluster.{kind}] is not accepted by {cls.__name__} "
                          f"({first}); see dask-jobqueue's documentation for its arguments") from None


def job_script(spec: SweepSpec, kind: str) -> str:
    """The batch script dask-jobqueue would submit for one worker (nothing is submitted)."""
    require_dask()
    cluster = _jobqueue_cluster(kind, spec, dashboard=False)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def check_submit_command(cluster_kind: str) -> None:
    """Refuse a SLURM/PBS cluster on a machine without its submit command."""
    submit = {"slurm": "sbatch", "pbs": "qsub"}.get(cluster_kind)
    if submit and shutil.which(submit) is None:
        raise ConfigError(f"--cluster {cluster_kind} submits jobs with {submit!r}, which is not "
                          "on this machine's PATH; run on the cluster's login node, or add "
                          "--dry-run to see the job script")


def dask_settings(verbose: bool = False):
    """dask settings of every sweep: a task whose worker died is retried
    ``ALLOWED_WORKER_DEATHS`` times; a worker runs what it is given."""
    import dask
    import distributed  # noqa: F401  (configures its loggers on import)

    if not verbose:
        logging.getLogger("distributed").setLevel(logging.ERROR)

    return dask.config.set({
        "distributed.scheduler.allowed-failures": ALLOWED_WORKER_DEATHS,
        "distributed.scheduler.worker-saturation": 1.0,   # a worker runs what it is given
    })


def start_client(spec: SweepSpec, scheduler: str | None, cluster_kind: str, workers: int):
    """A dask client (and the cluster it owns, or None): an existing ``scheduler``, or a
    new cluster of ``workers`` single-threaded workers (local processes or batch jobs)."""
    from distributed import Client

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except OSError as exc:
            raise ConfigError(f"cannot reach the dask scheduler at {scheduler!r} ({exc}); "
                              "start one with `dask scheduler` or use --cluster") from None
    if cluster_kind == "local":
        cluster = local_cluster(workers)
    else:
        cluster = _jobqueue_cluster(cluster_kind, spec)
        cluster.scale(workers)
    return Client(cluster), cluster


def local_cluster(workers: int):
    """A dask cluster of ``workers`` single-threaded worker processes on this machine."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                        dashboard_address=":0", silence_logs=logging.ERROR)


def run_tasks(function, tasks: list, *, workers: int = 1, on_result=None) -> list:
    """``[function(task) for task in tasks]``, computed in ``workers`` processes of a local
    dask cluster (in this process when ``workers`` <= 1 or there is one task).

    Results come back in task order; ``on_result(result)`` is called for each, in that
    order, as soon as it and every result before it are done. ``function`` and the tasks
    must be picklable (a module-level function)."""
    if workers <= 1 or len(tasks) <= 1:
        out = []
        for task in tasks:
            out.append(function(task))
            if on_result is not None:
                on_result(out[-1])
        return out
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(f"{workers} workers run on a local dask cluster, and dask.distributed "
                          "is not installed: pip install 'bioopzo[sweep]', or use one worker") \
            from None
    with dask_settings():
        cluster = local_cluster(workers)
        try:
            with Client(cluster) as client:
                futures = client.map(function, tasks, pure=False)
                out = []
                for future in futures:
                    out.append(future.result())
                    if on_result is not None:
                        on_result(out[-1])
                return out
        finally:
            cluster.close()
