"""bioopzo's error boundary: every subcommand against bad input and impossible output paths.

Each case runs ``python -m bioopzo.cli`` in a fresh process with its own TMPDIR and
asserts exit status 2, one line on stderr naming the problem (``bioopzo: error: ...``),
no Python traceback, no Brian2 debug files (``brian_debug_*.log``, ``brian_script_*.py``)
in the temporary folder, and nothing new on disk. Internal errors end with status 1 and
a log file whose path the message names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from bioopzo.cli import command_status
from bioopzo.config import load_config, resolve_config_path
from bioopzo.state import initial_state

REPO = Path(__file__).resolve().parents[1]


def _tree(root: Path) -> set:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _run(args, cwd: Path, tmpdir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TMPDIR": str(tmpdir),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "bioopzo.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def _unwritable_folder(path: Path) -> Path:
    """A folder nobody can create entries in: mode 0555, or for root (whom modes do not
    stop) the immutable attribute; skips, naming why, where neither can be set."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
    elif shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root on a file system without chattr +i: no folder here "
                    "refuses root's writes")
    try:
        (path / "probe").mkdir()
    except OSError:
        return path
    (path / "probe").rmdir()
    pytest.skip(f"{path} stays writable for this user; an unwritable folder cannot be made")


def _make_writable(path: Path) -> None:
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.chmod(0o755)


@pytest.fixture
def place(tmp_path):
    """A working folder (cwd of the command), a fresh TMPDIR, a regular file, and an
    unwritable folder; the unwritable folder is made writable again at the end."""
    work, tmpdir = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmpdir.mkdir()
    (work / "a_file").write_text("not a folder\n")
    locked = work / "locked"
    yield work, tmpdir, locked
    if locked.exists():
        _make_writable(locked)


def _run_folder(folder: Path, mutate) -> Path:
    """A finished-looking run folder of digits_fc whose weights.npz ``mutate`` changes."""
    folder.mkdir()
    config = load_config(resolve_config_path("digits_fc"), {"device": {"name": "runtime"}})
    (folder / "config.toml").write_text(config.to_toml())
    state = initial_state(config, 64, 10, config.training.seed)
    mutate(state)
    np.savez(folder / "weights.npz", **state)
    return folder


def _assert_refused(result, tmpdir: Path, before: set, work: Path, *fragments):
    err = result.stderr
    assert result.returncode == 2, (result.returncode, err[-2000:])
    assert "Traceback" not in err and "Traceback" not in result.stdout, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("bioopzo: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "please report" not in err and "Brian" not in err
    leftovers = [p.name for p in tmpdir.iterdir() if p.name.startswith(("brian_debug_",
                                                                          "brian_script_",
                                                                          "brian_stdout",
                                                                          "brian_stderr"))]
    assert leftovers == [], leftovers
    assert _tree(work) == before, _tree(work) ^ before


#: subcommands that write an output folder, with the arguments that make them start
OUT_COMMANDS = {
    "train": ["train", "--device", "runtime", "--limit", "40", "--epochs", "1"],
    "cost": ["cost", "--config", "digits_fc", "--samples", "2"],
    "plasticity": ["plasticity", "--rule", "opzo", "--engine", "numpy"],
    "sweep": ["sweep", "rules_x_seeds", "--workers", "1"],
    "analyze": ["analyze", "momentum", "--limit", "40", "--epochs", "1"],
}


@pytest.mark.parametrize("command", sorted(OUT_COMMANDS))
def test_out_under_an_unwritable_folder_is_refused_before_computing(place, command):
    work, tmpdir, locked = place
    _unwritable_folder(locked)
    before = _tree(work)
    result = _run([*OUT_COMMANDS[command], "--out", str(locked / "out")], work, tmpdir)
    _assert_refused(result, tmpdir, before, work, "cannot be written", str(locked / "out"),
                    "choose a folder you can write to")


@pytest.mark.parametrize("command", sorted(OUT_COMMANDS))
def test_out_under_a_file_is_refused(place, command):
    work, tmpdir, _ = place
    before = _tree(work)
    result = _run([*OUT_COMMANDS[command], "--out", "a_file/out"], work, tmpdir)
    _assert_refused(result, tmpdir, before, work, "lies under the file", "a_file")


def test_analyze_out_pointing_at_a_file_is_refused_before_the_analysis_runs(place):
    work, tmpdir, _ = place
    before = _tree(work)
    result = _run([*OUT_COMMANDS["analyze"], "--out", "a_file"], work, tmpdir)
    _assert_refused(result, tmpdir, before, work, "'a_file' exists and is not a folder")
    assert "momentum" not in result.stdout.split("\n", 1)[-1]   # nothing after the first line


def test_analyze_momentum_with_a_limit_too_small_for_a_test_split_names_the_range(place):
    work, tmpdir, _ = place
    before = _tree(work)
    result = _run(["analyze", "momentum", "--limit", "5", "--epochs", "1", "--out", "res"],
                  work, tmpdir)
    _assert_refused(result, tmpdir, before, work, "test split is empty",
                    "raise --limit to at least")


@pytest.mark.parametrize("mutate, fragments", [
    (lambda s: s.pop("W1"), ("lacks W1", "hidden layer 1", "(256, 64)")),
    (lambda s: s.update(W1=s["W1"][:, :10]), ("W1", "shape (256, 10)", "(256, 64)")),
], ids=["missing_W1", "wrong_shape"])
def test_evaluate_refuses_weights_that_do_not_fit_the_config(place, mutate, fragments):
    work, tmpdir, _ = place
    run = _run_folder(work / "run", mutate)
    before = _tree(work)
    result = _run(["evaluate", str(run)], work, tmpdir)
    _assert_refused(result, tmpdir, before, work, *fragments)


def test_a_binary_config_file_is_refused(place):
    work, tmpdir, _ = place
    (work / "model.toml").write_bytes(bytes(range(256)))
    before = _tree(work)
    result = _run(["train", "--config", "model.toml", "--out", "r"], work, tmpdir)
    _assert_refused(result, tmpdir, before, work, "model.toml")


def test_environment_problems_and_internal_errors_in_process(tmp_path, capsys, monkeypatch):
    """OSErrors become status 2 with the path and a fix; anything else status 1 with the
    traceback in error.log of the run folder, or in a named file of the temp folder."""
    def unwritable():
        raise PermissionError(13, "Permission denied", str(tmp_path / "x"))

    assert command_status(unwritable) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Permission denied" in err and str(tmp_path / "x") in err
    assert "choose a path you can write to" in err

    def crash():
        raise RuntimeError("something inside broke")

    run = tmp_path / "run"
    run.mkdir()
    assert command_status(crash, (tmp_path / "absent", run)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: RuntimeError: something inside broke" in err
    log = run / "error.log"
    assert str(log) in err and "Traceback" not in err
    assert "Traceback" in log.read_text() and "something inside broke" in log.read_text()

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    assert command_status(crash) == 1
    logs = list((tmp_path / "tmp").glob("bioopzo-error-*.log"))
    assert len(logs) == 1 and str(logs[0]) in capsys.readouterr().err
