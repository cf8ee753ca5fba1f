"""Issue 23: every database URL setting takes the URL forms hosts hand out, and refuses what it cannot honour
(naming the setting, never echoing the password)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from podium.adapters.postgres.urls import DatabaseUrlError, parse_database_url
from podium.config import Settings, SettingsError

SETTING = "PODIUM_DATABASE_URL"


@pytest.mark.parametrize(
    ("url", "hosts", "ports", "database", "user", "sslmode"),
    [
        # Heroku: postgres://, no sslmode (libpq's default: prefer).
        (
            "postgres://u:p@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8abc",
            ("ec2-1-2-3-4.compute-1.amazonaws.com",),
            (5432,),
            "d8abc",
            "u",
            "prefer",
        ),
        # DigitalOcean.
        (
            "postgresql://doadmin:p@db-x.b.db.ondigitalocean.com:25060/defaultdb?sslmode=require",
            ("db-x.b.db.ondigitalocean.com",),
            (25060,),
            "defaultdb",
            "doadmin",
            "require",
        ),
        # Supabase's transaction pooler (user with the project ref).
        (
            "postgresql://postgres.abcd:p@aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
            ("aws-0-eu-central-1.pooler.supabase.com",),
            (6543,),
            "postgres",
            "postgres.abcd",
            "prefer",
        ),
        # Neon: sslmode and channel_binding=prefer; the pooled host says -pooler.
        (
            "postgresql://alex:p@ep-cool-123456-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=prefer",
            ("ep-cool-123456-pooler.us-east-2.aws.neon.tech",),
            (5432,),
            "neondb",
            "alex",
            "require",
        ),
        # asyncpg's spelling, and the SQLAlchemy scheme.
        ("postgresql+asyncpg://u@h/db?ssl=require", ("h",), (5432,), "db", "u", "require"),
        # The embedded server's unix socket; several hosts; IPv6.
        (
            "postgresql+asyncpg://podium@/podium?host=/tmp/s",
            ("/tmp/s",),
            (5432,),
            "podium",
            "podium",
            "prefer",
        ),
        ("postgresql://u@a:1,b:2/db", ("a", "b"), (1, 2), "db", "u", "prefer"),
        ("postgresql://u@[::1]:6000/db", ("::1",), (6000,), "db", "u", "prefer"),
    ],
)
def test_host_url_forms_are_understood(
    url: str, hosts: tuple[str, ...], ports: tuple[int, ...], database: str, user: str, sslmode: str
) -> None:
    parsed = parse_database_url(url, SETTING)
    assert (parsed.hosts, parsed.ports, parsed.database, parsed.user, parsed.sslmode) == (
        hosts,
        ports,
        database,
        user,
        sslmode,
    )


def test_libpq_options_reach_the_driver() -> None:
    parsed = parse_database_url(
        "postgresql://u:p%40ss@h/db?application_name=podium-eu&connect_timeout=7&options=-c%20search_path%3Dpublic",
        SETTING,
    )
    kwargs = parsed.connect_kwargs(connect_timeout=5, application_name="podium")
    assert kwargs["password"] == "p@ss"
    assert kwargs["timeout"] == 7
    assert kwargs["server_settings"] == {"application_name": "podium-eu", "options": "-c search_path=public"}
    assert kwargs["ssl"] == "prefer"
    # libpq's tools get the same options but never the password.
    uri = parsed.libpq_uri()
    assert "p%40ss" not in uri
    assert "p@ss" not in uri
    assert "options=-c%20search_path%3Dpublic" in uri
    assert "application_name=podium-eu" in uri


@pytest.mark.parametrize(
    ("sslmode", "verify", "check_hostname"),
    [
        ("require", ssl.CERT_NONE, False),
        ("verify-ca", ssl.CERT_REQUIRED, False),
        ("verify-full", ssl.CERT_REQUIRED, True),
    ],
)
def test_sslmodes_become_contexts(sslmode: str, verify: ssl.VerifyMode, check_hostname: bool) -> None:
    root = "" if sslmode == "require" else "&sslrootcert=system"
    context = parse_database_url(f"postgresql://u@h/db?sslmode={sslmode}{root}", SETTING).ssl_context()
    assert isinstance(context, ssl.SSLContext)
    assert (context.verify_mode, context.check_hostname) == (verify, check_hostname)


def test_disable_and_the_fallback_modes() -> None:
    assert parse_database_url("postgresql://h/d?sslmode=disable", SETTING).ssl_context() is False
    assert parse_database_url("postgresql://h/d?sslmode=allow", SETTING).ssl_context() == "allow"
    assert parse_database_url("postgresql://h/d", SETTING).ssl_context() == "prefer"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:hunter2@h/db", "expected a postgresql://"),
        ("postgresql://u:hunter2@h/db?sslmode=maybe", "sslmode must be one of"),
        ("postgresql://u:hunter2@h/db?target_session_attrs=any", "unsupported option 'target_session_attrs'"),
        ("postgresql://u:hunter2@h/db?prepared_statement_cache_size=0", "unsupported option"),
        ("postgresql://u:hunter2@h/db?channel_binding=require", "channel_binding=require cannot be honoured"),
        ("postgresql://u:hunter2@h/db?sslmode=verify-full", "needs the CA"),
        (
            "postgresql://u:hunter2@h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem",
            "cannot read sslrootcert",
        ),
        ("postgresql://u:hunter2@h/db?sslmode=prefer&sslcert=/x.crt", "sslcert/sslkey need sslmode=require"),
        ("postgresql://u:hunter2@h:0/db", "the port must be a number"),
        ("postgresql://u:hunter2@h/db?connect_timeout=soon", "connect_timeout must be whole seconds"),
        ("postgresql://u:hunter2@h/db?sslmode", "not name=value pairs"),
    ],
)
def test_what_cannot_be_honoured_is_refused_naming_the_setting(url: str, message: str) -> None:
    with pytest.raises(DatabaseUrlError, match=message) as refused:
        parse_database_url(url, SETTING)
    assert str(refused.value).startswith(f"{SETTING}: ")
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize("name", ["PODIUM_DATABASE_URL", "PODIUM_DATABASE_DIRECT_URL"])
def test_settings_refuse_a_bad_url_at_start_up(name: str) -> None:
    environ = {"PODIUM_DATABASE_URL": "postgresql://h/db", name: "postgresql://u:hunter2@h/db?sslmode=on"}
    with pytest.raises(SettingsError, match=f"^{name}: sslmode must be one of") as refused:
        Settings.from_env(environ)
    assert "hunter2" not in str(refused.value)


def test_a_direct_url_needs_the_service_url() -> None:
    with pytest.raises(SettingsError, match="PODIUM_DATABASE_DIRECT_URL needs PODIUM_DATABASE_URL"):
        Settings.from_env({"PODIUM_DATABASE_DIRECT_URL": "postgresql://h/db"})


@pytest.mark.parametrize(
    ("environ", "pooled"),
    [
        ({"PODIUM_DATABASE_URL": "postgresql://h:5432/db"}, False),
        (
            {
                "PODIUM_DATABASE_URL": "postgresql://h:6432/db",
                "PODIUM_DATABASE_DIRECT_URL": "postgresql://h:5432/db",
            },
            True,
        ),
        (
            {"PODIUM_DATABASE_URL": "postgresql://h/db", "PODIUM_DATABASE_DIRECT_URL": "postgresql://h/db"},
            False,
        ),
        ({"PODIUM_DATABASE_URL": "postgresql://x.pooler.supabase.com:6543/postgres"}, True),
        (
            {
                "PODIUM_DATABASE_URL": "postgresql://x.pooler.supabase.com/db",
                "PODIUM_DATABASE_POOLER": "none",
            },
            False,
        ),
        ({"PODIUM_DATABASE_URL": "postgresql://h/db", "PODIUM_DATABASE_POOLER": "transaction"}, True),
        ({}, False),
    ],
)
def test_which_urls_count_as_a_transaction_pooler(environ: dict[str, str], pooled: bool) -> None:
    assert Settings.from_env(environ).transaction_pooler is pooled


def test_a_client_certificate_is_loaded(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUrlError, match="cannot read sslcert"):
        parse_database_url(f"postgresql://h/db?sslmode=require&sslcert={tmp_path}/missing.crt", SETTING)
