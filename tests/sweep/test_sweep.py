"""`bioopzo sweep`: validation before work, a local dask cluster that loses a
worker mid-task, exactly-once run folders and table, resume, failures, SLURM/PBS dry runs."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import bioopzo
from bioopzo.cli import main
from bioopzo.config import ConfigError
from bioopzo.sweep import load_sweep, run_point

pytest.importorskip("distributed", reason="bioopzo sweep needs the 'sweep' extra (dask)")

REPO = Path(bioopzo.__file__).resolve().parent.parent

# Cheap points: numpy runtime, 40 digits, 1 epoch, 8 hidden neurons, 4 steps per sample.
CHEAP = """
name = "{name}"
config = "digits_fc"
[fixed]
"device.name" = "runtime"
"data.limit" = 40
"data.steps_per_sample" = 4
"training.epochs" = 1
"network.hidden" = [8]
{extra}
"""


def write_sweep(tmp_path, grid: str, name: str = "tiny", extra: str = "") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(CHEAP.format(name=name, extra=extra) + grid)
    return path


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}


def _events(out: Path) -> list[list[str]]:
    return [line.split("\t")[1:] for line in (out / "attempts.log").read_text().splitlines()]


# ------------------------------------------------------------------ validation
def test_sweep_file_points_and_ids(tmp_path):
    path = write_sweep(tmp_path, '[grid]\n"rule.name" = ["bp", "dfa"]\n"training.seed" = [1, 2]\n'
                                 '[[points]]\n"noise.scale" = 0.5\n[[points]]\n"noise.scale" = 0.25\n')
    spec = load_sweep(path, out=tmp_path / "out")
    assert len(spec.points) == 2 * 2 * 2
    assert len({p.id for p in spec.points}) == 8
    assert spec.varying == ("noise.scale", "rule.name", "training.seed")
    first = spec.points[0]
    assert first.overrides["network.hidden"] == [8]
    assert first.config.network.hidden == (8,) and first.config.device.name == "runtime"
    assert first.id.startswith("scale-0.5_rule-bp_seed-1_")
    # the point's noise wins over digits_fc's [per_rule.bp] noise = {scale = 0}
    assert first.config.rule.name == "bp" and first.config.noise.scale == 0.5
    assert spec.points[4].config.noise.scale == 0.25
    # the ids are stable across loads
    assert [p.id for p in load_sweep(path, out=tmp_path / "out").points] == [p.id for p in spec.points]


@pytest.mark.parametrize("grid, words", [
    ('[grid]\n"rule.nmae" = ["bp"]\n', ["rule.nmae", "nmae", "[rule]"]),
    ('[grid]\n"rules.name" = ["bp"]\n', ["rules", "unknown section"]),
    ('[grid]\n"rule.name" = ["bp", "bpp"]\n', ["bpp", "choose one of"]),
    ('[grid]\n"neuron.tau_mem" = ["2 mV"]\n', ["tau_mem", "time"]),
    ('[grid]\n"training.seed" = 3\n', ["training.seed", "non-empty list"]),
    ('[grids]\n"training.seed" = [3]\n', ["grids", "unknown key"]),
    ('[grid]\n"rule.name" = ["bp", "bp"]\n', ["same resolved config"]),
])
def test_sweep_file_errors_name_the_problem(tmp_path, grid, words):
    path = write_sweep(tmp_path, grid)
    with pytest.raises(ConfigError) as info:
        load_sweep(path, out=tmp_path / "out")
    for word in words:
        assert word in str(info.value)


def test_cli_typo_exits_2_before_any_work(tmp_path, capsys):
    path = write_sweep(tmp_path, '[grid]\n"training.sed" = [1, 2]\n')
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "training.sed" in err and "known keys" in err
    assert not (tmp_path / "out").exists()


def test_per_rule_tables_still_apply_where_the_sweep_is_silent(tmp_path):
    path = write_sweep(tmp_path, '[grid]\n"rule.name" = ["bp", "zo", "opzo"]\n')
    bp, zo, opzo = load_sweep(path, out=tmp_path / "out").points
    assert bp.config.noise.scale == 0.0 and opzo.config.noise.scale == 0.3
    assert zo.config.optimizer.learning_rate == 0.0005 and opzo.config.optimizer.learning_rate == 0.005


def test_base_config_must_exist(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('config = "no_such_model"\n[grid]\n"training.seed" = [1]\n')
    with pytest.raises(ConfigError, match="no_such_model"):
        load_sweep(path)


def test_packaged_example_sweep_is_shipped_and_valid():
    spec = load_sweep("rules_x_seeds")
    assert len(spec.points) == 20
    assert {p.config.rule.name for p in spec.points} == {"opzo", "bp", "dfa", "zo"}
    assert {p.seed for p in spec.points} == {1, 2, 3, 4, 5}
    assert {p.config.data.dataset for p in spec.points} == {"digits"}


# ------------------------------------------------------------------ dry runs
@pytest.mark.parametrize("kind, directive", [("slurm", "#SBATCH"), ("pbs", "#PBS")])
def test_dry_run_prints_job_script(tmp_path, capsys, kind, directive):
    extra = f'[cluster.{kind}]\nwalltime = "00:20:00"\n'
    path = write_sweep(tmp_path, '[grid]\n"training.seed" = [1, 2]\n', extra=extra)
    assert main(["sweep", str(path), "--cluster", kind, "--dry-run", "--out",
                 str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "2 points" in text and text.count("to run") == 2
    assert text.count(directive) >= 2
    assert "00:20:00" in text                      # the sweep file's job options are used
    assert "distributed.cli.dask_worker" in text and "--nthreads 1" in text
    assert not (tmp_path / "out").exists()         # nothing submitted, nothing written


def test_second_driver_on_the_same_sweep_folder_is_refused(tmp_path, capsys):
    fcntl = pytest.importorskip("fcntl", reason="the sweep lock uses POSIX flock")
    path = write_sweep(tmp_path, '[grid]\n"training.seed" = [1]\n')
    out = tmp_path / "o"
    out.mkdir()
    with (out / ".sweep.lock").open("w") as held:       # as a running driver holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        assert main(["sweep", str(path), "--out", str(out)]) == 2
    assert "another bioopzo sweep is running" in capsys.readouterr().err
    assert not (out / "configs").exists()


@pytest.mark.skipif(__import__("shutil").which("sbatch") is not None,
                    reason="sbatch exists here, so a real submission would start")
def test_slurm_without_sbatch_is_a_clear_error(tmp_path, capsys):
    path = write_sweep(tmp_path, '[grid]\n"training.seed" = [1]\n')
    assert main(["sweep", str(path), "--cluster", "slurm", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'sbatch'" in err and "--dry-run" in err
    assert not (tmp_path / "o").exists()


def test_dry_run_rejects_unknown_jobqueue_option(tmp_path):
    path = write_sweep(tmp_path, '[grid]\n"training.seed" = [1]\n',
                       extra='[cluster.slurm]\nqueueue = "x"\n')
    with pytest.raises(ConfigError, match="cluster.slurm"):
        from bioopzo.sweep import job_script
        job_script(load_sweep(path, out=tmp_path / "out"), "slurm")


# ------------------------------------------------------- exactly-once claims
# Stands in for `python -m bioopzo.sweep.point CONFIG OUT --parent-pid PID`: another
# attempt of the same point claims runs/<point> while this one "trains", then this one
# leaves a complete run folder in OUT.
RIVAL_TRAINER = """
import json, pathlib, sys
config, out = sys.argv[1], pathlib.Path(sys.argv[2])
winner = out.parent.parent / "runs" / out.name.split(".")[0]
winner.mkdir(parents=True)
(winner / "summary.json").write_text('{"who": "rival"}')
out.mkdir()
(out / "summary.json").write_text('{"who": "this attempt"}')
"""


def test_second_attempt_of_a_point_is_discarded_not_recorded(tmp_path):
    """Two attempts of one point: the run folder claimed first stays, the other is dropped."""
    sweep_dir = tmp_path / "s"
    sweep_dir.mkdir()
    task = {"sweep_dir": str(sweep_dir), "id": "p1", "overrides": {}, "config": "unused.toml",
            "trainer": [sys.executable, "-c", RIVAL_TRAINER]}
    assert run_point(task)["status"] == "already done"
    assert [e[0] for e in _events(sweep_dir)] == ["start", "discarded"]
    winner = sweep_dir / "runs" / "p1"
    assert sorted(p.name for p in winner.iterdir()) == ["summary.json"]
    assert json.loads((winner / "summary.json").read_text()) == {"who": "rival"}   # untouched
    assert list((sweep_dir / "attempts").iterdir()) == []                        # loser removed
    assert not (sweep_dir / "running" / "p1").exists()
    # a rerun finds the point complete and does nothing
    assert run_point(task)["status"] == "already done"
    assert len(_events(sweep_dir)) == 2


# ------------------------------------------------- local cluster, killed worker
def _wait_for(predicate, timeout, what):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _a_running_point(out: Path):
    """(point id, marker contents) of a task executing now, or None."""
    for marker in (out / "running").glob("[!.]*") if (out / "running").is_dir() else ():
        try:                                    # (skips markers being written or removed)
            return marker.name, json.loads(marker.read_text())
        except (OSError, ValueError):
            pass
    return None


def _alive_with(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds processes via /proc")
def test_local_cluster_killed_worker_exactly_once_then_resume(tmp_path, capsys):
    path = write_sweep(tmp_path, '[grid]\n"rule.name" = ["bp", "dfa", "readout"]\n')
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bioopzo", "sweep", str(path), "--workers", "2", "--out", str(out),
         "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    try:
        victim, info = _wait_for(lambda: _a_running_point(out), 120, "a running point")
        killed_attempt = info["attempt"]
        os.kill(info["worker_pid"], signal.SIGKILL)      # the dask worker process, mid-task
        output, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    spec = load_sweep(path, out=out)
    ids = [p.id for p in spec.points]
    events = _events(out)
    # the killed point was started again after its worker died, and claimed once
    starts = [e for e in events if e[0] == "start" and e[1] == victim]
    assert len(starts) >= 2 and starts[0][2] == killed_attempt
    claimed = [e[1] for e in events if e[0] == "claimed"]
    assert sorted(claimed) == sorted(ids)                        # every point exactly once
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(ids)
    assert not (out / "attempts").exists() and not (out / "running").exists()
    # the dead worker's child process stopped too (its parent watchdog)
    assert _alive_with(killed_attempt) == []
    # the table is the run folders, one row each, in sweep order; Parquet says the same
    with (out / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["point"] for r in rows] == ids
    for row, point in zip(rows, spec.points):
        summary = json.loads((out / "runs" / point.id / "summary.json").read_text())
        assert float(row["final_test_accuracy_fraction"]) == summary["final_test_accuracy_fraction"]
        assert int(row["seed"]) == point.seed == summary["seed"]
        assert row["rule.name"] == point.config.rule.name == summary["rule"]
        assert row["brian2"] and row["numpy"] and float(row["train_seconds"]) > 0
    import pyarrow.parquet as pq

    table = pq.read_table(out / "results.parquet").to_pylist()
    assert [r["point"] for r in table] == ids
    assert [r["final_test_accuracy_fraction"] for r in table] == [float(r["final_test_accuracy_fraction"])
                                                         for r in rows]
    assert (out / "summary.png").stat().st_size > 1000
    assert "3 run now, 0 already done, 0 failed" in output

    # second invocation: no work, everything reported as already done
    n_events = len(events)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    capsys.readouterr()
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "all 3 points already done; nothing to run" in text
    assert "0 run now, 3 already done, 0 failed" in text
    assert len(_events(out)) == n_events
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == mtimes


@pytest.mark.skipif(importlib.util.find_spec("brian2genn") is not None,
                    reason="brian2genn is installed, so a genn point would not fail here")
def test_failed_point_on_existing_scheduler_is_listed_and_exit_status_is_1(tmp_path, capsys):
    # "device.name = genn" passes config validation but stops when the simulator is made
    path = write_sweep(tmp_path, '[[points]]\n"device.name" = "genn"\n', name="fails")
    out = tmp_path / "out"
    from distributed import LocalCluster       # an existing scheduler: the --scheduler path

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        assert main(["sweep", str(path), "--scheduler", cluster.scheduler_address, "--out",
                     str(out), "--quiet"]) == 1
    text = capsys.readouterr().out
    point = load_sweep(path, out=out).points[0]
    assert "0 run now, 0 already done, 1 failed" in text
    assert f"FAILED {point.id}: PointFailed: exit status 2" in text and "brian2genn" in text
    failures = json.loads((out / "failures.json").read_text())
    assert [f["overrides"]["device.name"] for f in failures] == ["genn"]
    assert "brian2genn" in (out / "failed" / f"{point.id}.log").read_text()
    assert (out / "results.csv").read_text().strip() == "point"       # header, no rows
    assert not (out / "runs").exists() and not (out / "summary.png").exists()
    assert [e[0] for e in _events(out)] == ["start", "failed"]
