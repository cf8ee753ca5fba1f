"""Debian's HAProxy run by a test: on 127.0.0.1, its configuration and log in the test's folder."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if found is None:
        pytest.fail("HAProxy is not installed: apt-get install -y haproxy (see docs/scaling.md)")
    return found


@contextlib.contextmanager
def running_haproxy(binary: str, config: Path, port: int) -> Iterator[None]:
    """HAProxy with ``config`` (checked first), until it accepts on ``port``; stopped at the end."""
    subprocess.run([binary, "-c", "-q", "-f", str(config)], check=True)
    with (config.parent / "haproxy.log").open("wb") as log:
        process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(250):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.02)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)
