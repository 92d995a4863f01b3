"""A content-addressed cache of compiled standalone binaries.

A standalone project's binary depends only on the generated code and how it is
compiled, so the cache key is a SHA-256 over

- every generated source file of the project (``*.cpp``, ``*.h``, ``*.c``, the
  ``makefile``, with their relative paths), which holds the compiler flags
  (``-march=native`` included) and every value compiled in as a constant,
- the compiler (``$CXX`` or ``c++``: its resolved path and ``--version``) and
  the ``CXX``/``CXXFLAGS``/``CPPFLAGS``/``LDFLAGS`` environment,
- the Brian2 version, the machine architecture and the CPU model and flags.

Brian2 writes the clocks' start values in ``main.cpp`` in the order of a set
of clock objects, which changes from process to process; these independent
assignments are sorted before hashing, so the same network has one key.

Data, state and seeds are not in it: the binary reads them at start from
``static_arrays/`` and from ``run_args``. Config values that Brian2 compiles in
as constants (the learning rates, the noise scale, the loss and neuron
constants, sizes, T and the samples per run) are part of the generated code
and so of the key: changing one builds a new binary.

An entry is a folder ``<key>/`` holding the binary ``main`` and ``entry.json``
(what was built, when, how long it took). Entries are written into a temporary
folder and renamed into place (atomic on one file system); a lock file per key
(``fcntl.flock``, where available) makes a second process that needs the same
binary wait for the first to finish building it instead of compiling again.

Location: ``$BIOOPZO_CACHE_DIR`` if set, else ``~/.cache/bioopzo/builds``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["BuildCache", "CacheEntry", "default_cache_dir", "project_key", "canonical_source",
           "CACHE_ENV",
           "SOURCE_SUFFIXES", "BINARY"]

#: environment variable naming the cache folder
CACHE_ENV = "BIOOPZO_CACHE_DIR"
#: suffixes of the generated files that go into the key (plus the makefile)
SOURCE_SUFFIXES = (".cpp", ".h", ".c", ".hpp")
#: the binary's file name in a project and in an entry
BINARY = "main"
_SKIPPED = ("static_arrays", "results")
_COMPILER_ENV = ("CXX", "CXXFLAGS", "CPPFLAGS", "LDFLAGS")
_CLOCK_START = re.compile(rb"^\s*_array_\w*clock_(timestep|t)\[0\] = [^;]*;\s*$")


def canonical_source(text: bytes) -> bytes:
    """``text`` with every run of consecutive clock start assignments sorted
    (their order in Brian2's ``main.cpp`` follows set iteration)."""
    lines = text.split(b"\n")
    out, run = [], []
    for line in lines:
        if _CLOCK_START.match(line):
            run.append(line)
            continue
        out += sorted(run)
        run = []
        out.append(line)
    out += sorted(run)
    return b"\n".join(out)


def default_cache_dir() -> Path:
    """``$BIOOPZO_CACHE_DIR``, else ``~/.cache/bioopzo/builds``."""
    value = os.environ.get(CACHE_ENV)
    if value:
        return Path(value).expanduser()
    return Path.home() / ".cache" / "bioopzo" / "builds"


@lru_cache(maxsize=4)
def _compiler_identity(cxx: str) -> str:
    path = shutil.which(cxx) or cxx
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        version = "unknown"
    return f"{os.path.realpath(path)}\n{version}"


@lru_cache(maxsize=1)
def _cpu_identity() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "flags", "Features", "CPU part") and key not in fields:
            fields[key] = value.strip()
    return json.dumps(fields, sort_keys=True)


def _project_files(directory: Path) -> list[Path]:
    files = []
    for path in directory.rglob("*"):
        rel = path.relative_to(directory)
        if rel.parts[0] in _SKIPPED or rel.parts[0].startswith("results_") or not path.is_file():
            continue
        if path.suffix in SOURCE_SUFFIXES or path.name == "makefile":
            files.append(rel)
    return sorted(files)


def project_key(directory: str | Path) -> str:
    """The cache key (hex SHA-256) of the generated project in ``directory``."""
    import brian2

    directory = Path(directory)
    digest = hashlib.sha256()
    for rel in _project_files(directory):
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(canonical_source((directory / rel).read_bytes())).digest())
    cxx = os.environ.get("CXX", "c++")
    for part in (_compiler_identity(cxx),
                 json.dumps({k: os.environ.get(k, "") for k in _COMPILER_ENV}, sort_keys=True),
                 brian2.__version__, platform.machine(), _cpu_identity()):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    key: str
    path: Path
    size: int            # bytes
    info: dict           # entry.json


class BuildCache:
    """The cache folder ``root`` (default :func:`default_cache_dir`)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()

    def entry_dir(self, key: str) -> Path:
        return self.root / key

    def binary(self, key: str) -> Path | None:
        """The cached binary of ``key``, or None."""
        path = self.entry_dir(key) / BINARY
        return path if path.is_file() and os.access(path, os.X_OK) else None

    @contextlib.contextmanager
    def lock(self, key: str):
        """Hold the lock of ``key`` (blocks while another process holds it)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{key}.lock", "a+b") as handle:
            try:
                import fcntl
            except ImportError:     # no advisory locks here: entries are still atomic
                yield
                return
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def store(self, key: str, binary: Path, info: dict) -> Path:
        """Put ``binary`` in the cache under ``key``; the entry's folder."""
        target = self.entry_dir(key)
        if self.binary(key) is not None:
            return target
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{key[:16]}-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            shutil.copy2(binary, tmp / BINARY)
            info = {"key": key, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    **info}
            (tmp / "entry.json").write_text(json.dumps(info, indent=2) + "\n")
            if target.exists():         # an incomplete entry (no binary): replace it
                shutil.rmtree(target, ignore_errors=True)
            try:
                os.rename(tmp, target)
            except OSError:
                if self.binary(key) is None:   # not another process's complete entry
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    def fetch(self, key: str, destination: Path) -> bool:
        """Copy the cached binary of ``key`` to ``destination``; False when absent."""
        binary = self.binary(key)
        if binary is None:
            return False
        tmp = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}")
        shutil.copy2(binary, tmp)
        os.replace(tmp, destination)
        return True

    def entries(self) -> list[CacheEntry]:
        """The complete entries, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.iterdir():
            if path.name.startswith(".") or not path.is_dir() or self.binary(path.name) is None:
                continue
            try:
                info = json.loads((path / "entry.json").read_text())
            except (OSError, ValueError):
                info = {}
            size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            found.append(CacheEntry(path.name, path, size, info))
        return sorted(found, key=lambda e: e.info.get("created", ""))

    def clear(self) -> int:
        """Remove every entry, temporary folders older than an hour and the lock
        files no process holds; the number of entries removed."""
        entries = self.entries()
        for entry in entries:
            with self.lock(entry.key):
                shutil.rmtree(entry.path, ignore_errors=True)
        if not self.root.is_dir():
            return len(entries)
        for path in self.root.iterdir():
            if path.name.startswith(".tmp-") and time.time() - path.stat().st_mtime > 3600:
                shutil.rmtree(path, ignore_errors=True)
            elif path.suffix == ".lock":
                _unlink_unheld(path)
        return len(entries)


def _unlink_unheld(path: Path) -> None:
    """Remove the lock file ``path`` unless a process holds it."""
    try:
        import fcntl
    except ImportError:
        return
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return
        path.unlink(missing_ok=True)
