"""What starting the embedded server does to the folders above its data directory."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.adapters.postgres.embedded import EmbeddedPostgres, EmbeddedPostgresError


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


def test_a_server_whose_folders_were_made_private_again_is_not_taken_for_stopped(home: Path) -> None:
    """pytest makes /tmp/pytest-of-<user> 0700 again at each start: a server under it, run as another user,
    must not then look stopped (stop() would leave it running)."""
    server = EmbeddedPostgres(home / "clone" / ".data" / "postgres")
    server.start()
    try:
        home.chmod(0o700)
        if os.geteuid() == 0:
            with pytest.raises(EmbeddedPostgresError, match="Permission denied"):
                server.is_running()
            with pytest.raises(EmbeddedPostgresError, match="Permission denied"):
                server.stop()
        else:
            # Run as its owner, the server's tools still enter the folder.
            assert server.is_running()
    finally:
        home.chmod(0o701)
        server.stop(mode="immediate")
    assert not server.is_running()
