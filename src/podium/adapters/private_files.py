"""Files holding users' personal data (snapshots, backups, reports) are created readable by their owner
only: the file 0600, every folder this creates 0700, whatever the umask. The mode is given when the file
is created (``os.open``), never set afterwards, so there is no moment in which others could open it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> Path:
    """Create ``path`` and any missing parent, each 0700 (folders that exist already are left as they
    are: the operator chose them)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, FOLDER_MODE)
        except FileExistsError:
            continue  # created meanwhile by another run
        # mkdir's mode passes through the umask, which can only remove bits: 0700 stays 0700 unless the
        # umask takes the owner's own bits, which nobody sets.
    return path


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """Open ``path`` for writing, created 0600 (an existing file is truncated and keeps its mode)."""
    if not set(mode) & {"w", "x"}:
        raise ValueError(f"open_private writes files; mode {mode!r} does not")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if "x" in mode else os.O_TRUNC)
    descriptor = os.open(path, flags, FILE_MODE)
    try:
        return os.fdopen(descriptor, mode.replace("x", "w"), **kwargs)
    except BaseException:
        os.close(descriptor)
        raise


def write_private(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) into ``path`` atomically: into ``path.tmp`` created 0600, then renamed."""
    private_folder(path.parent)
    partial = path.with_name(path.name + ".tmp")
    partial.unlink(missing_ok=True)  # a leftover of a killed run, with whatever mode it had
    with open_private(partial, "x", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
