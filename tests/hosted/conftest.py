"""A PostgreSQL as hosts run it: TLS with a certificate from a private CA (made here with openssl), roles
with passwords, and Debian's PgBouncer in transaction mode in front of it with its default settings.

Built once for these tests from Debian's PostgreSQL 15 (``bench.pg``); everything is stopped and removed
at the end.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from bench.pg import Bouncer, Cluster, pgbouncer, throwaway_cluster
from litestar.testing import AsyncTestClient

from podium.adapters.postgres.database import upgrade
from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import create_event, sign_up  # noqa: F401 (fixtures, on this folder's client)
from tests.conftest import TEST_SECRET, empty_tables

DATABASE = "podium"
USER, PASSWORD = "podium", "s3cret-pw"
# May log in over TLS only (pg_hba: hostnossl … reject).
TLS_USER, TLS_PASSWORD = "podium_tls", "tls-only-pw"
HBA = f"""hostnossl all {TLS_USER} 127.0.0.1/32 reject
host all all 127.0.0.1/32 scram-sha-256
"""


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA that signed the server's certificate (for "localhost" only)
    other_ca: Path  # a CA that signed nothing the server has
    server_crt: bytes
    server_key: bytes


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path) -> Certificates:
    """A private CA, a second unrelated one, and a server certificate for DNS:localhost signed by the first."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    for name in ("ca", "other-ca"):
        _openssl("req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
                 "-subj", f"/CN=Podium test {name}", cwd=folder)  # fmt: skip
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=folder)
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "2", "-extfile", "san.ext", cwd=folder)  # fmt: skip
    return Certificates(
        folder / "ca.crt",
        folder / "other-ca.crt",
        (folder / "server.crt").read_bytes(),
        (folder / "server.key").read_bytes(),
    )


@dataclass(frozen=True)
class Hosted:
    cluster: Cluster
    bouncer: Bouncer
    certificates: Certificates

    def url(
        self,
        *,
        host: str = "localhost",
        user: str = USER,
        password: str = PASSWORD,
        query: str = "",
        database: str = DATABASE,
    ) -> str:
        """The cluster's URL as a host gives it out: ``postgres://`` with a password."""
        suffix = f"?{query}" if query else ""
        return f"postgres://{user}:{password}@{host}:{self.cluster.port}/{database}{suffix}"

    def verified(self, host: str = "localhost", ca: Path | None = None) -> str:
        return self.url(host=host, query=f"sslmode=verify-full&sslrootcert={ca or self.certificates.ca}")

    @property
    def pooled(self) -> str:
        return self.bouncer.url(USER, PASSWORD, DATABASE)


@pytest.fixture(scope="package")
def hosted() -> Iterator[Hosted]:
    with tempfile.TemporaryDirectory(prefix="podium-hosted-") as folder:
        certificates = make_certificates(Path(folder))
        with throwaway_cluster(
            "pg15",
            tuned=False,
            settings={"ssl": "on", "ssl_cert_file": "server.crt", "ssl_key_file": "server.key"},
            files={"server.crt": certificates.server_crt, "server.key": certificates.server_key},
            hba=HBA,
        ) as cluster:
            cluster.psql("postgres", f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
            cluster.psql("postgres", f"CREATE ROLE {TLS_USER} LOGIN PASSWORD '{TLS_PASSWORD}'")
            cluster.psql("postgres", f"CREATE DATABASE {DATABASE} OWNER {USER}")
            hosted = Hosted(cluster, Bouncer("", 0), certificates)
            upgrade(hosted.verified())
            cluster.psql(DATABASE, f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {TLS_USER}")
            with pgbouncer(cluster, {USER: PASSWORD}) as bouncer:
                yield replace(hosted, bouncer=bouncer)


def settings_for(url: str, **more: str) -> Settings:
    environ = {
        "PODIUM_JWT_SECRET": TEST_SECRET,
        "PODIUM_LOG_LEVEL": "ERROR",
        "PODIUM_DATABASE_URL": url,
        **more,
    }
    return Settings.from_env(environ)


def pooled_settings(hosted: Hosted, **more: str) -> Settings:
    """The service through PgBouncer in transaction mode; migrations and LISTEN on the direct URL (TLS)."""
    return settings_for(hosted.pooled, PODIUM_DATABASE_DIRECT_URL=hosted.verified(), **more)


@pytest.fixture
async def clean(hosted: Hosted) -> None:
    await empty_tables(settings_for(hosted.verified()))


@pytest.fixture
async def client(hosted: Hosted, clean: None) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(pooled_settings(hosted))) as client:
        yield client
