"""Issue 23: the provider's URL over TLS — verify-full checks the chain and the host name, each mode does
what libpq's does, and a refused or unverifiable connection is one line naming the setting."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from podium.adapters.postgres.database import create_engine
from podium.cli import main
from tests.hosted.conftest import PASSWORD, TLS_PASSWORD, TLS_USER, Hosted, settings_for

SSL_IN_USE = text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")


async def _uses_tls(url: str) -> bool:
    engine = create_engine(settings_for(url), url)
    try:
        async with engine.connect() as connection:
            return bool((await connection.execute(SSL_IN_USE)).scalar_one())
    finally:
        await engine.dispose()


def _podium(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


async def test_verify_full_checks_the_chain_and_the_host_name_and_connects(hosted: Hosted) -> None:
    assert await _uses_tls(hosted.verified())


@pytest.mark.parametrize(
    ("query", "tls"),
    [
        ("sslmode=require", True),
        ("sslmode=prefer", True),
        ("", True),  # libpq's default: prefer
        ("sslmode=allow", False),  # TLS only if the server insists
        ("sslmode=disable", False),
        ("ssl=require", True),  # asyncpg's spelling
    ],
)
async def test_each_sslmode_connects_as_libpq_would(hosted: Hosted, query: str, tls: bool) -> None:
    assert await _uses_tls(hosted.url(host="127.0.0.1", query=query)) is tls


async def test_verify_ca_checks_the_chain_but_not_the_name(hosted: Hosted) -> None:
    url = hosted.url(host="127.0.0.1", query=f"sslmode=verify-ca&sslrootcert={hosted.certificates.ca}")
    assert await _uses_tls(url)


@pytest.mark.parametrize("case", ["wrong host name", "wrong CA"])
def test_an_unverifiable_server_is_one_line_naming_the_setting(hosted: Hosted, case: str) -> None:
    if case == "wrong host name":  # the certificate names localhost only
        url = hosted.verified(host="127.0.0.1")
    else:
        url = hosted.verified(ca=hosted.certificates.other_ca)
    result = _podium({"PODIUM_DATABASE_URL": url}, "db", "current")
    assert result.exit_code == 1
    line = result.output.strip()
    assert "\n" not in line
    assert line.startswith(
        f"Error: PODIUM_DATABASE_URL: 127.0.0.1:{hosted.cluster.port}/podium"
        if case == "wrong host name"
        else "Error: PODIUM_DATABASE_URL: localhost:"
    )
    assert "TLS certificate could not be verified" in line
    assert PASSWORD not in line


def test_a_server_requiring_tls_refuses_a_plain_connection_in_one_line(hosted: Hosted) -> None:
    url = hosted.url(host="127.0.0.1", user=TLS_USER, password=TLS_PASSWORD, query="sslmode=disable")
    result = _podium({"PODIUM_DATABASE_URL": url}, "db", "current")
    assert result.exit_code == 1
    assert "the server requires TLS" in result.output
    assert TLS_PASSWORD not in result.output
    # Over TLS the same role is let in.
    url = hosted.url(host="127.0.0.1", user=TLS_USER, password=TLS_PASSWORD, query="sslmode=require")
    assert _podium({"PODIUM_DATABASE_URL": url}, "db", "current").exit_code == 0


def test_a_server_without_tls_refuses_require_in_one_line(hosted: Hosted) -> None:
    # PgBouncer's default: no TLS towards its clients.
    url = hosted.pooled + "?sslmode=require"
    result = _podium({"PODIUM_DATABASE_URL": url}, "db", "current")
    assert result.exit_code == 1
    assert "the server does not accept TLS, but the URL requires it (sslmode=require)" in result.output


def test_migrations_run_over_verify_full(hosted: Hosted) -> None:
    result = _podium({"PODIUM_DATABASE_URL": hosted.verified()}, "db", "current")
    assert result.exit_code == 0, result.output
    assert "(head)" in result.output
