"""Where a serving process's memory is, every few seconds: ``bench.soak --memwatch`` puts this folder on the
server's ``PYTHONPATH`` (Python imports ``sitecustomize`` at start-up) and names a file prefix in
``PODIUM_MEMWATCH``. Each ``podium serve`` process (and each worker it spawns) then appends one JSON line
per ``PODIUM_MEMWATCH_EVERY`` seconds (30) to ``<prefix>.<pid>``:

* ``rss_kb`` — the process's resident memory;
* ``py_live`` / ``py_arenas`` — bytes in Python's small-object allocator's live blocks, and its arenas
  (1 MiB each): arenas minus live blocks is fragmentation (``sys._debugmallocstats``);
* ``c_in_use`` / ``c_free`` / ``c_heap`` — glibc malloc's bytes in use, free but kept, and its main heap
  (``mallinfo2``): large objects (bodies, lists) and C extensions' memory;
* ``objects`` — objects the garbage collector tracks (containers).

A growth in ``py_live`` or ``c_in_use`` is data kept; in arenas or ``c_free`` alone, fragmentation left by
transient peaks. Diagnostics only: never installed with the service.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import sys
import threading
import time


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _pymalloc() -> dict[str, int]:
    """Python's allocator statistics: ``_debugmallocstats`` prints them on the C stderr only."""
    read, write = os.pipe()
    saved = os.dup(2)
    os.dup2(write, 2)
    try:
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(write)
    text = b""
    while chunk := os.read(read, 65536):
        text += chunk
    os.close(read)
    found = {}
    for line in text.decode(errors="replace").splitlines():
        for key, name in (
            ("# arenas allocated current", "py_arenas"),
            ("# bytes in allocated blocks", "py_live"),
        ):
            if line.startswith(key):
                found[name] = int(line.rsplit("=", 1)[1].strip().replace(",", ""))
    return found


def _rss_kb() -> int:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _watch(path: str, every: float) -> None:
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    start = time.monotonic()
    while True:
        time.sleep(every)
        info = libc.mallinfo2()
        line = {
            "t": round(time.monotonic() - start),
            "rss_kb": _rss_kb(),
            **_pymalloc(),
            "c_in_use": info.uordblks,
            "c_free": info.fordblks,
            "c_heap": info.arena,
            "objects": len(gc.get_objects()),
        }
        with open(path, "a") as out:
            out.write(json.dumps(line) + "\n")


_prefix = os.environ.get("PODIUM_MEMWATCH")
_argv = " ".join(sys.argv)
if _prefix and ("serve" in _argv or "multiprocessing" in _argv):
    threading.Thread(
        target=_watch,
        args=(f"{_prefix}.{os.getpid()}", float(os.environ.get("PODIUM_MEMWATCH_EVERY", "30"))),
        name="memwatch",
        daemon=True,
    ).start()
