"""The build cache of compiled networks (issue 18, check 4): keys, atomic entries,
`bioopzo cache info/clear`, a second train of a built network without compiling,
and a sweep of 2 rules x 3 seeds that compiles exactly twice."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bioopzo
from bioopzo.cli import main
from bioopzo.config import ConfigError, load_config
from bioopzo.devices.build_cache import BuildCache, default_cache_dir, project_key
from bioopzo.train import train

REPO = Path(bioopzo.__file__).resolve().parent.parent


def _project(folder: Path, source: str = "int main() { return 0; }\n") -> Path:
    (folder / "code_objects").mkdir(parents=True)
    (folder / "static_arrays").mkdir()
    (folder / "main.cpp").write_text(source)
    (folder / "code_objects" / "a.h").write_text("#define A 1\n")
    (folder / "makefile").write_text("all:\n\tc++ main.cpp -o main\n")
    (folder / "static_arrays" / "weights").write_bytes(b"\x00" * 16)
    return folder


def test_the_key_follows_the_code_not_the_data(tmp_path):
    a = _project(tmp_path / "a")
    b = _project(tmp_path / "b")
    assert project_key(a) == project_key(b)            # another folder, the same code
    (b / "static_arrays" / "weights").write_bytes(b"\x01" * 16)
    (b / "results_3").mkdir()
    (b / "results_3" / "v").write_bytes(b"\x02")
    assert project_key(a) == project_key(b)            # data and results are not code
    (b / "code_objects" / "a.h").write_text("#define A 2\n")
    assert project_key(a) != project_key(b)
    c = _project(tmp_path / "c")
    (c / "makefile").write_text("all:\n\tc++ -O0 main.cpp -o main\n")
    assert project_key(a) != project_key(c)            # flags are in the makefile


def test_the_clock_start_order_does_not_change_the_key(tmp_path):
    """Brian2 writes the clocks' start values in set order, which varies between processes."""
    body = ("int main() {{\n{}\n    network.add(&a, f);\n    network.add(&b, g);\n}}\n")
    clocks = ["    _array_defaultclock_timestep[0] = 0;", "    _array_defaultclock_t[0] = 0.0;",
              "    _array_feedback_clock_timestep[0] = 0;", "    _array_feedback_clock_t[0] = 0.0;"]
    a = _project(tmp_path / "a", body.format("\n".join(clocks)))
    b = _project(tmp_path / "b", body.format("\n".join(clocks[2:] + clocks[:2])))
    assert project_key(a) == project_key(b)
    c = _project(tmp_path / "c", body.format("\n".join(clocks)).replace("(&a, f)", "(&a, h)"))
    assert project_key(a) != project_key(c)
    swapped = body.format("\n".join(clocks)).replace("(&a, f);\n    network.add(&b, g)",
                                                      "(&b, g);\n    network.add(&a, f)")
    d = _project(tmp_path / "d", swapped)
    assert project_key(a) != project_key(d)    # the order of operations is code


def test_the_cache_lives_where_the_environment_says(tmp_path, monkeypatch):
    monkeypatch.setenv("BIOOPZO_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("BIOOPZO_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "bioopzo" / "builds"


def test_entries_are_stored_fetched_listed_and_cleared(tmp_path, capsys):
    cache = BuildCache(os.environ["BIOOPZO_CACHE_DIR"])
    binary = tmp_path / "main"
    binary.write_bytes(b"#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    assert not cache.fetch("k1", tmp_path / "copy")
    cache.store("k1", binary, {"network": "net"})
    cache.store("k1", binary, {"network": "other"})     # a second store keeps the first entry
    assert cache.fetch("k1", tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == binary.read_bytes()
    assert os.access(tmp_path / "copy", os.X_OK)
    (cache.root / "k2").mkdir()                           # an incomplete entry is not listed
    assert [e.key for e in cache.entries()] == ["k1"]
    assert cache.entries()[0].info["network"] == "net"
    assert not [p for p in cache.root.iterdir() if p.name.startswith(".tmp-")]

    assert main(["cache", "info", "--list"]) == 0
    out = capsys.readouterr().out
    assert str(cache.root) in out and "entries: 1" in out and "net" in out
    assert main(["cache", "clear"]) == 0
    assert "removed 1 cached build " in capsys.readouterr().out
    assert cache.entries() == [] and cache.binary("k1") is None
    assert main(["cache", "info"]) == 0
    assert "entries: 0, size: 0 B" in capsys.readouterr().out


def test_concurrent_stores_of_one_key_leave_one_complete_entry(tmp_path):
    binary = tmp_path / "main"
    binary.write_bytes(b"x" * 200_000)
    binary.chmod(0o755)
    code = ("import sys; from bioopzo.devices.build_cache import BuildCache; "
            "c = BuildCache(sys.argv[1]);\n"
            "with c.lock('k'):\n    c.store('k', __import__('pathlib').Path(sys.argv[2]), {})")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "cache"), str(binary)],
                              env=env) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    cache = BuildCache(tmp_path / "cache")
    assert [e.key for e in cache.entries()] == ["k"]
    assert (cache.root / "k" / "main").read_bytes() == binary.read_bytes()
    assert not [p for p in cache.root.iterdir() if p.name.startswith(".tmp-")]


def test_build_cache_must_be_a_boolean():
    with pytest.raises(ConfigError, match=r"\[device\] build_cache must be true or false"):
        load_config("digits_fc", {"device": {"build_cache": "yes"}})


TINY = {"network": {"hidden": [16]}, "data": {"limit": 40, "steps_per_sample": 4},
        "training": {"epochs": 1}}


@pytest.mark.standalone
def test_a_second_train_of_a_built_network_starts_without_compiling(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="bioopzo.devices")
    first = train(load_config("digits_fc", TINY), tmp_path / "first", progress=False,
                  echo=lambda *a: None)
    assert first.metrics[0]["compiled"] == 1
    assert json.loads((tmp_path / "first" / "summary.json").read_text())["n_builds"] == 1
    caplog.clear()
    other_seed = {**TINY, "training": {"epochs": 1, "seed": 7}}
    second = train(load_config("digits_fc", other_seed), tmp_path / "second", progress=False,
                   echo=lambda *a: None)
    messages = [r.getMessage() for r in caplog.records]
    assert any("using the cached build" in m for m in messages)
    assert not any("compiling the network" in m for m in messages)
    assert second.metrics[0]["compiled"] == 0
    assert json.loads((tmp_path / "second" / "summary.json").read_text())["n_builds"] == 0
    # the cached binary runs the second seed's own randomness
    assert not all((first.state[k] == second.state[k]).all() for k in first.state)
    # with the cache off, the same network compiles again
    off = {**TINY, "device": {"build_cache": False}}
    third = train(load_config("digits_fc", off), tmp_path / "third", progress=False,
                  echo=lambda *a: None)
    assert third.metrics[0]["compiled"] == 1
    for k in first.state:
        assert (first.state[k] == third.state[k]).all(), k   # same seed: bitwise the same


@pytest.mark.standalone
def test_a_sweep_of_two_rules_by_three_seeds_compiles_twice(tmp_path):
    pytest.importorskip("distributed", reason="bioopzo sweep needs the 'sweep' extra (dask)")
    sweep = tmp_path / "rules_x_seeds.toml"
    sweep.write_text('name = "rules_x_seeds"\nconfig = "digits_fc"\n[fixed]\n'
                     '"data.limit" = 40\n"data.steps_per_sample" = 4\n"training.epochs" = 1\n'
                     '"network.hidden" = [16]\n[grid]\n"rule.name" = ["opzo", "bp"]\n'
                     '"training.seed" = [1, 2, 3]\n')
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "bioopzo", "sweep", str(sweep), "--workers", "2",
                           "--out", str(out), "--quiet"], env=env, capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    summaries = [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*/summary.json"))]
    assert len(summaries) == 6
    assert sum(s["n_builds"] for s in summaries) == 2
    assert len(BuildCache().entries()) == 2
