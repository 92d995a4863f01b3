"""``bioopzo cache info`` and ``bioopzo cache clear``: the build cache of compiled networks.

    bioopzo cache info [--list]  location, entries, total size (--list: one line per entry)
    bioopzo cache clear         remove every cached binary

The cache (devices/build_cache.py) lives in ``$BIOOPZO_CACHE_DIR`` or
``~/.cache/bioopzo/builds``; a network whose generated code, compiler and flags
match an entry starts without compiling.
"""

from __future__ import annotations

from bioopzo.devices.build_cache import CACHE_ENV, BuildCache
from bioopzo.options import add_verbosity_options

__all__ = ["register", "cmd_info", "cmd_clear", "format_size"]


def register(subparsers) -> None:
    p = subparsers.add_parser("cache", help="the build cache of compiled networks (cpp_standalone)")
    sub = p.add_subparsers(dest="cache_command", required=True)
    info = sub.add_parser("info", help=f"location (${CACHE_ENV} or ~/.cache/bioopzo/builds), "
                                       "entries and size")
    info.add_argument("--list", action="store_true", dest="list_entries",
                      help="one line per entry: key, network, rule, size, compile time, date")
    add_verbosity_options(info)
    info.set_defaults(func=cmd_info)
    clear = sub.add_parser("clear", help="remove every cached binary (the next run compiles)")
    add_verbosity_options(clear)
    clear.set_defaults(func=cmd_clear)


def format_size(size: int) -> str:
    """``size`` bytes as B, kB, MB or GB (powers of 1000)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def cmd_info(args) -> int:
    cache = BuildCache()
    entries = cache.entries()
    total = sum(e.size for e in entries)
    print(f"build cache: {cache.root}")
    print(f"entries: {len(entries)}, size: {format_size(total)}")
    if getattr(args, "list_entries", False):
        for e in entries:
            info = e.info
            print(f"  {e.key[:16]}  {info.get('network', '?')}  {info.get('rule', '?')}  "
                  f"{format_size(e.size)}  compiled in {info.get('compile_seconds', '?')} s  "
                  f"{info.get('created', '?')}")
    return 0


def cmd_clear(args) -> int:
    cache = BuildCache()
    removed = cache.clear()
    print(f"removed {removed} cached build{'' if removed == 1 else 's'} from {cache.root}")
    return 0
