"""What starting the embedded server does to the folders above its data directory."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.adapters.postgres.embedded import EmbeddedPostgres


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def home() -> Iterator[Path]:
    """A private folder (0700, like root's home) holding a clone (0750) that holds the data directory."""
    root = Path(tempfile.mkdtemp(prefix="podium-test-home-"))
    (root / "clone").mkdir()
    root.chmod(0o700)
    (root / "clone").chmod(0o750)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_server_starts_from_a_private_home_and_opens_its_parents_for_traversal_only(home: Path) -> None:
    server = EmbeddedPostgres(home / "clone" / ".data" / "postgres")
    server.start()
    try:
        assert server.is_running()
        if os.geteuid() == 0:
            # The server runs as ``embedded_postgres``: it may enter the folders above, never list them.
            assert mode(home) == 0o701
            assert mode(home / "clone") == 0o751
        else:
            assert mode(home) == 0o700
            assert mode(home / "clone") == 0o750
        assert mode(home / "clone" / ".data" / "postgres") == 0o700
    finally:
        server.stop(mode="immediate")
