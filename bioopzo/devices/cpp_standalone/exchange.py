"""Where a run's files travel between Python and the compiled binary.

Every run writes its ``run_args`` files (state, inputs), and the binary writes
the arrays read back at its end (state, monitors) into a results folder. On a
disk those tens of megabytes per run go through the file system's journal and
write-back; a folder in memory (``/dev/shm``, a tmpfs) makes writing, reading
and deleting them cheap. :func:`exchange_folder` makes such a folder,
``bioopzo-run-<pid>-<random>``, where the memory file system has room for
``needed`` bytes with a margin; else it returns None and the run's files stay in
the project folder. The caller removes its folder when done
(:func:`remove_folder`); folders of processes that no longer exist (killed
before they could clean up) are removed by the next :func:`exchange_folder`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["exchange_folder", "remove_folder", "MEMORY_FOLDER", "PREFIX"]

#: the memory file system that holds the exchange folders
MEMORY_FOLDER = Path("/dev/shm")

#: name prefix of the exchange folders
PREFIX = "bioopzo-run-"


def exchange_folder(needed: int, root: Path = MEMORY_FOLDER) -> Path | None:
    """A new folder under ``root`` (a memory file system) for a run's files of
    about ``needed`` bytes, or None where ``root`` is missing, not writable, or
    has less than twice ``needed`` plus 256 MiB free."""
    try:
        if not root.is_dir() or shutil.disk_usage(root).free < 2 * needed + 2**28:
            return None
        remove_stale_folders(root)
        return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=root))
    except OSError:
        return None


def remove_stale_folders(root: Path = MEMORY_FOLDER) -> None:
    """Remove the exchange folders under ``root`` whose process no longer exists."""
    for path in root.glob(f"{PREFIX}*"):
        pid = path.name[len(PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            remove_folder(path)
        except OSError:     # another user's process: alive
            continue


def remove_folder(path: Path) -> None:
    """Remove ``path`` (a folder, or a link to one: the link and its target)."""
    path = Path(path)
    if path.is_symlink():
        target = path.resolve()
        path.unlink(missing_ok=True)
        path = target
    shutil.rmtree(path, ignore_errors=True)
