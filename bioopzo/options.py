"""The options and output conventions every ``bioopzo`` subcommand shares.

Options (added to a subcommand's parser by one function each, so that ``--help`` shows
them the same way everywhere):

    --out DIR       the command's output folder; default under ``runs/`` (:data:`OUTPUT_ROOT`):
                    ``default_out(kind, *parts)`` = runs/<kind>_<parts>_<YYYYmmdd-HHMMSS>
    --overwrite     replace an existing output folder; without it a non-empty --out is refused
                    (:func:`check_output_folder`); the old folder stays until the new output
                    is complete where the command writes to ``DIR.partial`` first
    --quiet         no progress output (messages and bars); results and errors still print
    -v, --verbose   log what the devices do; accepted before and after the subcommand
    --seed S        one seed (an int); commands that need several take ``--seed S --seeds N``:
                    the N seeds S, S+1, ..., S+N-1 (:func:`seed_list`)

Output conventions: energies in ``µJ`` (:data:`MICRO_JOULE`), spreads with ``±``
(:data:`PLUS_MINUS`), counted nouns through :func:`plural` ("1 seed", "2 seeds"), ranks
with ties shared (:func:`tied_ranks`: 1, 2, 2, 4), table columns that hold a fraction in
[0, 1] end in ``_fraction`` and columns that hold a percentage end in ``_pct``
(:func:`fraction_column`). Progress goes to stderr: :class:`Progress` prints what a step
is doing and draws a tqdm bar (the style of ``bioopzo train``) where the work has a
known size; ``--quiet`` silences both.
"""

from __future__ import annotations

import argparse
import logging
import math
import shutil
import sys
import time
from pathlib import Path

from bioopzo.errors import ConfigError
from bioopzo.runs import check_writable_folder

__all__ = ["OUTPUT_ROOT", "MICRO_JOULE", "PLUS_MINUS", "add_output_options", "add_quiet_option",
           "add_verbosity_options", "add_seed_option", "add_seeds_option", "default_out",
           "check_output_folder", "prepare_resumable_folder", "replace_output_folder", "seed_list",
           "plural", "tied_ranks", "rank_labels", "FRACTION_KEYS", "fraction_column",
           "fraction_columns", "read_fraction", "Progress", "silence_loggers"]

#: the folder every subcommand's default output lies under (relative to the current folder)
OUTPUT_ROOT = Path("runs")
#: the energy unit every terminal line, file and figure uses for microjoules
MICRO_JOULE = "µJ"
#: the symbol between a mean and its spread
PLUS_MINUS = "±"


# ------------------------------------------------------------------------ options
def add_output_options(parser: argparse.ArgumentParser, *, default: str, what: str = "output folder",
                       required: bool = False) -> None:
    """``--out DIR`` (help names ``default``, e.g. "runs/cost_<name>_<time>") and ``--overwrite``."""
    parser.add_argument("--out", metavar="DIR", required=required,
                        help=f"{what} (default: {default})" if not required else what)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output folder (without it a non-empty --out is "
                             "refused)")


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress messages or bars."""
    parser.add_argument("--quiet", action="store_true",
                        help="no progress output (results and errors still print)")


def add_verbosity_options(parser: argparse.ArgumentParser, *, quiet: bool = True) -> None:
    """``-v/--verbose`` (also accepted before the subcommand: the subcommand's flag does not
    reset the top-level one) and, with ``quiet``, ``--quiet``."""
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log what the devices do (also accepted before the subcommand)")
    if quiet:
        add_quiet_option(parser)


def add_seed_option(parser: argparse.ArgumentParser, *, default: int | None = None,
                    help: str | None = None) -> None:
    """``--seed S``: one integer seed."""
    text = help or "random seed" + (f" (default {default})" if default is not None
                                     else " (default: the config's)")
    parser.add_argument("--seed", type=int, default=default, metavar="S", help=text)


def add_seeds_option(parser: argparse.ArgumentParser, *, default: int) -> None:
    """``--seeds N``: how many seeds, counted from ``--seed`` (add that option too)."""
    parser.add_argument("--seeds", type=int, default=default, metavar="N",
                        help=f"number of seeds: --seed, --seed + 1, ... (default {default})")


def seed_list(seed: int, count: int) -> tuple[int, ...]:
    """The seeds ``seed, seed + 1, ..., seed + count - 1`` of ``--seed S --seeds N``."""
    if count is None or count < 1:
        raise ConfigError(f"--seeds {count} must be at least 1 (it counts seeds from --seed)")
    if seed is None or seed < 0:
        raise ConfigError(f"--seed {seed} must be at least 0")
    return tuple(range(seed, seed + count))


# ------------------------------------------------------------------ output folders
def default_out(kind: str, *parts: str) -> Path:
    """``runs/<kind>_<part>_..._<YYYYmmdd-HHMMSS>`` (``kind`` may hold a folder: "sweeps/x")."""
    name = "_".join([kind, *[str(p) for p in parts if p], time.strftime("%Y%m%d-%H%M%S")])
    return OUTPUT_ROOT / name


def check_output_folder(out: str | Path, overwrite: bool, *, markers: tuple[str, ...] = (),
                        kind: str = "output") -> Path:
    """Refuse ``out`` if it is a file, or a non-empty folder without ``overwrite``; with
    ``overwrite``, refuse a non-empty folder that holds none of ``markers`` (files the
    command itself writes), so that --overwrite never replaces a folder of something else.
    Also refuses a path that is a file, lies under a file or cannot be written
    (:func:`bioopzo.runs.check_writable_folder`). Run before any long computation;
    returns ``out`` as a Path."""
    out = check_writable_folder(out)   # a file, under a file, or a folder that refuses writes
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(f"--out {str(out)!r} exists and is not empty; pass --overwrite to "
                              "replace it, or choose another --out")
        if markers and not any((out / m).exists() for m in markers):
            raise ConfigError(f"--out {str(out)!r} is not empty and holds no {kind} "
                              f"(none of {', '.join(markers)}); --overwrite replaces only a "
                              "bioopzo output folder: choose an empty or new folder")
        if out.absolute() in (Path.cwd().absolute(), Path.home().absolute()) \
                or out.absolute() in Path.cwd().absolute().parents:
            raise ConfigError(f"--out {str(out)!r} is the current folder, the home folder or above "
                              "them; choose a folder of its own")
    return out


def prepare_resumable_folder(out: str | Path, overwrite: bool, *, markers: tuple[str, ...],
                             kind: str = "sweep") -> Path:
    """The folder of a resumable command (sweep, tune, compare): new, empty, one to continue
    (it holds one of ``markers``, the command's own files), or, with ``overwrite``, one to
    discard and start over (it must hold one of ``markers``; it is removed here)."""
    out = Path(out)
    if out.is_dir() and any((out / m).exists() for m in markers) and not overwrite:
        return out                                # continue the sweep already there
    check_output_folder(out, overwrite, markers=markers, kind=kind)
    if overwrite and out.is_dir() and any(out.iterdir()):
        shutil.rmtree(out)
    return out


def replace_output_folder(partial: Path, out: Path) -> Path:
    """Move the finished ``partial`` folder to ``out``, removing an old ``out`` only after."""
    if out.exists():
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        partial.rename(out)
        shutil.rmtree(old)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.rename(out)
    return out


# ---------------------------------------------------------------- words and ranks
def plural(n: int | float, word: str, words: str | None = None) -> str:
    """``"1 seed"``, ``"2 seeds"``, ``"0 seeds"`` (``words``: an irregular plural)."""
    one = n == 1
    return f"{n} {word if one else (words or word + 's')}"


def tied_ranks(values: dict, rel_tol: float = 1e-9) -> dict:
    """Competition ranks of ``values`` (name -> number), smallest first; equal values (within
    ``rel_tol``) share the rank: {a: 1, b: 2, c: 2, d: 4}."""
    order = sorted(values, key=lambda k: values[k])
    ranks: dict = {}
    for i, key in enumerate(order):
        prev = order[i - 1] if i else None
        if prev is not None and math.isclose(values[key], values[prev], rel_tol=rel_tol, abs_tol=0.0):
            ranks[key] = ranks[prev]
        else:
            ranks[key] = i + 1
    return ranks


def rank_labels(values: dict, rel_tol: float = 1e-9) -> dict:
    """:func:`tied_ranks` as text, a shared rank marked with "=": {a: "1", b: "2=", c: "2="}."""
    ranks = tied_ranks(values, rel_tol)
    counts: dict = {}
    for r in ranks.values():
        counts[r] = counts.get(r, 0) + 1
    return {k: f"{r}=" if counts[r] > 1 else f"{r}" for k, r in ranks.items()}


#: keys of a run's metrics rows and summary that hold fractions in [0, 1]; their file
#: columns (metrics.csv, summary.json, sweep tables) carry the "_fraction" suffix
FRACTION_KEYS = ("train_accuracy", "test_accuracy", "final_test_accuracy", "best_test_accuracy",
                 "final_train_accuracy")


def fraction_column(name: str) -> str:
    """The column name of a quantity held as a fraction in [0, 1]: ``name + "_fraction"``."""
    return name if name.endswith("_fraction") else f"{name}_fraction"


def fraction_columns(row: dict, keys: tuple[str, ...] = FRACTION_KEYS) -> dict:
    """``row`` with each of ``keys`` renamed to its :func:`fraction_column` (order kept)."""
    return {(fraction_column(k) if k in keys else k): v for k, v in row.items()}


def read_fraction(row: dict, name: str):
    """The value of ``name`` in a row read from a file: its ``_fraction`` column, or the bare
    ``name`` of files written before the convention."""
    key = fraction_column(name)
    return row[key] if key in row else row[name]


# ----------------------------------------------------------------------- progress
class Progress:
    """What a command is doing, on stderr: :meth:`say` prints a step ("recording ... (1/5)..."),
    :meth:`bar` wraps an iterable of known size in a tqdm bar (as ``bioopzo train`` draws
    its epochs). ``quiet`` silences both."""

    def __init__(self, quiet: bool = False, stream=None):
        self.quiet = quiet
        self.stream = stream

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream or sys.stderr, flush=True)

    def step(self, what: str, k: int, n: int) -> None:
        """``"<what> (k/n)..."``."""
        self.say(f"{what} ({k}/{n})...")

    def bar(self, iterable, desc: str, unit: str, total: int | None = None):
        from tqdm import tqdm

        return tqdm(iterable, desc=desc, unit=unit, total=total, disable=self.quiet,
                    file=self.stream or sys.stderr, leave=False)


def silence_loggers(*prefixes: str, level: int = logging.ERROR) -> None:
    """Raise every logger named ``prefix`` or ``prefix.<child>`` to ``level`` (children too:
    dask sets levels on its child loggers, so the parent's level is not enough). Import the
    package first, so that its loggers exist."""
    names = [n for n in list(logging.root.manager.loggerDict)
             if any(n == p or n.startswith(p + ".") for p in prefixes)]
    for name in {*prefixes, *names}:
        logging.getLogger(name).setLevel(level)
