from __future__ import annotations

import os
import re
from dataclasses import fields, replace
from pathlib import Path
from typing import get_type_hints

import pytest
import yaml
from click.testing import CliRunner

from podium.cli import main
from podium.config import RANGES, Settings, SettingsError
from podium.http.app import create_app


def test_values_are_read_from_podium_variables() -> None:
    settings = Settings.from_env(
        {
            "PODIUM_JWT_SECRET": "s",
            "PODIUM_PORT": "9000",
            "PODIUM_LEADERBOARD_CACHE": "false",
            "PODIUM_CORS_ALLOW_ORIGINS": "https://a.example, https://b.example",
            "PODIUM_DATA_DIR": "/srv/podium",
            "PODIUM_DB_POOL_TIMEOUT": "2.5",
        }
    )
    assert settings.port == 9000
    assert settings.leaderboard_cache is False
    assert settings.cors_allow_origins == ("https://a.example", "https://b.example")
    assert settings.data_dir == Path("/srv/podium")
    assert settings.db_pool_timeout == 2.5
    assert settings.database_url is None


def test_production_without_a_jwt_secret_refuses_to_start() -> None:
    with pytest.raises(SettingsError, match="PODIUM_JWT_SECRET is required"):
        Settings.from_env({"PODIUM_ENV": "production"})


def test_development_without_a_secret_generates_one() -> None:
    settings = Settings.from_env({})
    assert settings.jwt_secret_generated
    assert len(settings.jwt_secret) >= 32


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PODIUM_PORT", "eighty", "PODIUM_PORT"),
        ("PODIUM_LEADERBOARD_CACHE", "maybe", "expected true or false"),
        ("PODIUM_ENV", "staging", "expected one of development, production"),
    ],
)
def test_malformed_values_are_named_in_the_error(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value, "PODIUM_JWT_SECRET": "s"})


# Production refuses settings that would leak credentials or break every emailed link (issue 10 §8).

PRODUCTION = {
    "PODIUM_ENV": "production",
    "PODIUM_JWT_SECRET": "s" * 48,
    "PODIUM_LOOPS_API_KEY": "loops-key",
    "PODIUM_PRODUCTION_URL": "https://podium.example",
}


def test_complete_production_settings_start() -> None:
    settings = Settings.from_env(PRODUCTION)
    assert settings.is_production
    assert not settings.logs_magic_links


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"PODIUM_JWT_SECRET": None}, "PODIUM_JWT_SECRET"),
        ({"PODIUM_JWT_SECRET": ""}, "PODIUM_JWT_SECRET"),
        ({"PODIUM_LOOPS_API_KEY": None}, "PODIUM_LOOPS_API_KEY"),
        ({"PODIUM_LOOPS_API_KEY": ""}, "PODIUM_LOOPS_API_KEY"),
        ({"PODIUM_MAILER": "loops", "PODIUM_LOOPS_API_KEY": None}, "PODIUM_LOOPS_API_KEY"),
        ({"PODIUM_PRODUCTION_URL": None}, "PODIUM_PRODUCTION_URL"),
        ({"PODIUM_PRODUCTION_URL": "http://localhost:5173"}, "PODIUM_PRODUCTION_URL"),
        ({"PODIUM_PRODUCTION_URL": "https://app.localhost"}, "PODIUM_PRODUCTION_URL"),
        ({"PODIUM_PRODUCTION_URL": "http://127.0.0.1:3000"}, "PODIUM_PRODUCTION_URL"),
        ({"PODIUM_PRODUCTION_URL": "http://[::1]/"}, "PODIUM_PRODUCTION_URL"),
        ({"PODIUM_PRODUCTION_URL": "http://0.0.0.0"}, "PODIUM_PRODUCTION_URL"),
        ({"PODIUM_PRODUCTION_URL": "podium.example"}, "PODIUM_PRODUCTION_URL"),
    ],
    ids=[
        "no secret",
        "empty secret",
        "no Loops key",
        "empty Loops key",
        "Loops chosen without a key",
        "no frontend URL",
        "the localhost default",
        "a .localhost name",
        "a loopback address",
        "IPv6 loopback",
        "the unspecified address",
        "no scheme",
    ],
)
def test_production_refuses_to_start_naming_the_variable(changes: dict[str, str | None], named: str) -> None:
    environ = {k: v for k, v in {**PRODUCTION, **changes}.items() if v is not None}
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(environ)


def test_production_may_log_magic_links_when_asked_explicitly() -> None:
    environ = {k: v for k, v in PRODUCTION.items() if k != "PODIUM_LOOPS_API_KEY"}
    settings = Settings.from_env({**environ, "PODIUM_MAILER": "console"})
    assert settings.logs_magic_links


def test_development_logs_magic_links_without_a_key_and_mails_them_with_one() -> None:
    assert Settings.from_env({}).logs_magic_links
    assert not Settings.from_env({"PODIUM_LOOPS_API_KEY": "k"}).logs_magic_links
    assert Settings.from_env({"PODIUM_LOOPS_API_KEY": "k", "PODIUM_MAILER": "console"}).logs_magic_links


# Every numeric setting is range-checked at start-up, with a message naming it.

OUT_OF_RANGE = [
    ("PODIUM_DB_POOL_SIZE", "0"),
    ("PODIUM_DB_POOL_SIZE", "100000"),
    ("PODIUM_DB_MAX_OVERFLOW", "-1"),
    ("PODIUM_DB_POOL_TIMEOUT", "0"),
    ("PODIUM_DB_POOL_TIMEOUT", "nan"),
    ("PODIUM_DB_POOL_TIMEOUT", "inf"),
    ("PODIUM_DB_STATEMENT_TIMEOUT_MS", "0"),
    ("PODIUM_DB_STATEMENT_TIMEOUT_MS", "1000000000"),
    ("PODIUM_DB_CONNECT_TIMEOUT", "-5"),
    ("PODIUM_REPLICA_MAX_LAG_MS", "0"),
    ("PODIUM_JWT_EXPIRE_MINUTES", "0"),
    ("PODIUM_JWT_EXPIRE_MINUTES", "9999999999999"),
    ("PODIUM_MAGIC_LINK_EXPIRE_MINUTES", "0"),
    ("PODIUM_MAGIC_LINK_EXPIRE_MINUTES", "10000"),
    ("PODIUM_LOGIN_RATE_LIMIT", "0"),
    ("PODIUM_LOGIN_IP_RATE_LIMIT", "-3"),
    ("PODIUM_LOGIN_RATE_WINDOW_SECONDS", "86401"),
    ("PODIUM_LOGIN_RATE_WINDOW_SECONDS", "0"),
    ("PODIUM_JOIN_RATE_LIMIT", "0"),
    ("PODIUM_JOIN_IP_RATE_LIMIT", "2000000"),
    ("PODIUM_JOIN_RATE_WINDOW_SECONDS", "100000"),
    ("PODIUM_PORT", "0"),
    ("PODIUM_PORT", "70000"),
    ("PODIUM_WORKERS", "0"),
    ("PODIUM_WORKERS", "10000"),
    ("PODIUM_MAX_REQUEST_BODY_BYTES", "10"),
    ("PODIUM_MAX_REQUEST_BODY_BYTES", "99999999999"),
    ("PODIUM_SHUTDOWN_TIMEOUT_SECONDS", "-1"),
    ("PODIUM_WORKER_HEALTHCHECK_SECONDS", "0"),
    ("PODIUM_LIVE_MIN_INTERVAL_MS", "-1"),
    ("PODIUM_LIVE_MAX_STREAMS", "0"),
    ("PODIUM_LIVE_MAX_STREAMS_PER_CLIENT", "0"),
    ("PODIUM_HEADER_TIMEOUT_SECONDS", "0"),
    ("PODIUM_LIVE_IDLE_TIMEOUT_SECONDS", "0"),
    ("PODIUM_LIVE_HEARTBEAT_SECONDS", "0"),
    ("PODIUM_VALIDATION_TIMEOUT_SECONDS", "0"),
    ("PODIUM_VALIDATE_RATE_LIMIT", "0"),
    ("PODIUM_VALIDATE_RATE_WINDOW_SECONDS", "86401"),
    ("PODIUM_CHECK_RATE_LIMIT", "0"),
    ("PODIUM_CHECK_PROJECT_RATE_LIMIT", "1000001"),
    ("PODIUM_CHECK_RATE_WINDOW_SECONDS", "0"),
    ("PODIUM_TURNSTILE_TIMEOUT_SECONDS", "0"),
    ("PODIUM_HACKCLUB_TIMEOUT_SECONDS", "121"),
    ("PODIUM_SENTRY_TRACES_SAMPLE_RATE", "1.5"),
]


@pytest.mark.parametrize(("name", "value"), OUT_OF_RANGE, ids=[f"{n}={v}" for n, v in OUT_OF_RANGE])
def test_a_numeric_setting_out_of_range_is_refused_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}: expected a number from "):
        Settings.from_env({name: value})


def test_every_numeric_setting_has_a_range() -> None:
    hints = get_type_hints(Settings)
    numeric = {f.name for f in fields(Settings) if hints[f.name] in (int, float)}
    assert numeric == set(RANGES)
    checked = {name.removeprefix("PODIUM_").lower() for name, _ in OUT_OF_RANGE}
    assert checked == numeric


@pytest.mark.parametrize("name", sorted(RANGES))
def test_both_ends_of_every_range_are_accepted(name: str) -> None:
    for bound in RANGES[name]:
        settings = Settings.from_env({"PODIUM_" + name.upper(): str(bound)})
        assert getattr(settings, name) == bound


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PODIUM_JWT_ALGORITHM", "RS256", "expected one of HS256, HS384, HS512"),
        ("PODIUM_JWT_ALGORITHM", "none", "expected one of HS256, HS384, HS512"),
        ("PODIUM_MAILER", "smtp", "expected one of auto, loops, console"),
        ("PODIUM_LOG_LEVEL", "VERBOSE", "PODIUM_LOG_LEVEL: expected one of DEBUG"),
        ("PODIUM_HOST", " ", "PODIUM_HOST"),
        ("PODIUM_LOOPS_API_URL", "app.loops.so/api", "PODIUM_LOOPS_API_URL: expected an http"),
        ("PODIUM_REVIEW_FACTORY_URL", "ftp://review.example", "PODIUM_REVIEW_FACTORY_URL: expected an http"),
        ("PODIUM_AIRTABLE_ENDPOINT_URL", "", "PODIUM_AIRTABLE_ENDPOINT_URL: expected an http"),
        ("PODIUM_PRODUCTION_URL", "https://", "PODIUM_PRODUCTION_URL: expected an http"),
        ("PODIUM_DATABASE_REPLICA_URLS", "postgresql+asyncpg://r/podium", "needs PODIUM_DATABASE_URL"),
    ],
)
def test_other_malformed_settings_are_refused_naming_them(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value})


def test_replica_urls_are_a_list_and_a_bad_one_is_named_by_position_not_echoed() -> None:
    primary = {"PODIUM_DATABASE_URL": "postgresql+asyncpg://p/podium"}
    settings = Settings.from_env(
        {
            **primary,
            "PODIUM_DATABASE_REPLICA_URLS": "postgresql+asyncpg://a/podium, postgresql+asyncpg://b/podium",
        }
    )
    assert settings.database_replica_urls == (
        "postgresql+asyncpg://a/podium",
        "postgresql+asyncpg://b/podium",
    )
    with pytest.raises(SettingsError, match=r"entry 2\): expected a postgresql://") as refused:
        Settings.from_env(
            {**primary, "PODIUM_DATABASE_REPLICA_URLS": "postgresql+asyncpg://a/p,mysql://u:hunter2@b/p"}
        )
    assert "hunter2" not in str(refused.value)


def test_a_lower_case_log_level_is_fine() -> None:
    assert Settings.from_env({"PODIUM_LOG_LEVEL": "debug"}).log_level == "debug"


def test_settings_built_in_code_are_checked_too() -> None:
    with pytest.raises(SettingsError, match="PODIUM_LOGIN_RATE_WINDOW_SECONDS"):
        replace(Settings.from_env({}), login_rate_window_seconds=90_000)


# The refusal stops the service before it serves anything.


def test_podium_serve_refuses_to_start_in_production_without_a_mail_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [k for k in os.environ if k.startswith("PODIUM_")]:
        monkeypatch.delenv(name)
    environ = {k: v for k, v in PRODUCTION.items() if k != "PODIUM_LOOPS_API_KEY"}
    result = CliRunner().invoke(main, ["serve"], env=environ)
    assert result.exit_code == 1
    assert "PODIUM_LOOPS_API_KEY is required when PODIUM_ENV=production" in result.output


def test_the_app_refuses_to_start_on_settings_out_of_range(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("PODIUM_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PODIUM_LOGIN_RATE_WINDOW_SECONDS", "90000")
    with pytest.raises(SettingsError, match="PODIUM_LOGIN_RATE_WINDOW_SECONDS"):
        create_app()


# docker-compose.yml runs the API with PODIUM_ENV=production: it must hold to the same rules.

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


def _compose_api_environment(shell: dict[str, str]) -> dict[str, str]:
    """The API's environment as ``docker compose`` interpolates it from ``shell`` (``:-`` and ``:?``)."""

    def resolve(match: re.Match[str]) -> str:
        name, kind, argument = match.groups()
        if shell.get(name):
            return shell[name]
        if kind == "?":
            raise LookupError(f"compose refuses: {argument}")
        return argument if kind == "-" else ""

    environment = yaml.safe_load(COMPOSE.read_text())["services"]["api"]["environment"]
    return {name: _VARIABLE.sub(resolve, str(value)) for name, value in environment.items()}


COMPOSE_REQUIRED = {
    "POSTGRES_PASSWORD": "pw",
    "PODIUM_JWT_SECRET": "s" * 48,
    "PODIUM_PRODUCTION_URL": "https://podium.example",
}


def test_compose_runs_the_api_in_production_and_starts_with_a_mail_key() -> None:
    environment = _compose_api_environment({**COMPOSE_REQUIRED, "PODIUM_LOOPS_API_KEY": "key"})
    settings = Settings.from_env(environment)
    assert settings.is_production
    assert settings.production_url == "https://podium.example"
    assert not settings.logs_magic_links


@pytest.mark.parametrize("missing", sorted(COMPOSE_REQUIRED))
def test_compose_itself_refuses_without_a_required_variable(missing: str) -> None:
    shell = {k: v for k, v in COMPOSE_REQUIRED.items() if k != missing}
    with pytest.raises(LookupError, match=missing):
        _compose_api_environment({**shell, "PODIUM_LOOPS_API_KEY": "key"})


def test_compose_without_a_mail_key_stops_at_start_unless_the_log_is_chosen() -> None:
    with pytest.raises(SettingsError, match="PODIUM_LOOPS_API_KEY"):
        Settings.from_env(_compose_api_environment(COMPOSE_REQUIRED))
    chosen = Settings.from_env(_compose_api_environment({**COMPOSE_REQUIRED, "PODIUM_MAILER": "console"}))
    assert chosen.logs_magic_links


REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "expected"), [(None, ".data"), ("state", "state"), ("a/../b", "a/../b")])
def test_a_relative_data_dir_does_not_depend_on_the_current_folder(
    raw: str | None, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {} if raw is None else {"PODIUM_DATA_DIR": raw}
    seen = set()
    for folder in (REPOSITORY, tmp_path, REPOSITORY / "docs"):
        monkeypatch.chdir(folder)
        seen.add(Settings.from_env(environ).data_dir)
    assert seen == {REPOSITORY / expected}


def test_the_default_data_dir_is_absolute_without_reading_the_environment() -> None:
    assert Settings().data_dir == REPOSITORY / ".data"


def test_a_home_relative_data_dir_is_expanded() -> None:
    assert Settings.from_env({"PODIUM_DATA_DIR": "~/podium"}).data_dir == Path.home() / "podium"


def test_serve_gives_uvicorn_the_worker_healthcheck_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # uvicorn's own 5 s killed workers that were still importing on a saturated box, over and over.
    import uvicorn

    from podium.cli.serve import run_uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    run_uvicorn("127.0.0.1", 8000, 2, Settings.from_env({"PODIUM_WORKER_HEALTHCHECK_SECONDS": "45"}))
    assert seen["timeout_worker_healthcheck"] == 45
    assert Settings.from_env({}).worker_healthcheck_seconds == 30


def test_production_refuses_the_test_endpoints() -> None:
    with pytest.raises(SettingsError, match=r"^PODIUM_ENABLE_TEST_ENDPOINTS must not be set"):
        Settings.from_env({**PRODUCTION, "PODIUM_ENABLE_TEST_ENDPOINTS": "true"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PODIUM_FRONTEND": "v3"}, "^PODIUM_FRONTEND: expected one of legacy, head"),
        (
            {"PODIUM_HACKCLUB_CLIENT_ID": "id"},
            "^PODIUM_HACKCLUB_CLIENT_ID and PODIUM_HACKCLUB_CLIENT_SECRET go",
        ),
        ({"PODIUM_CUSTOM_VALIDATORS": "sleepover"}, "^PODIUM_CUSTOM_VALIDATORS: expected name=http"),
        ({"PODIUM_CUSTOM_VALIDATORS": "a=ftp://x"}, "^PODIUM_CUSTOM_VALIDATORS: expected name=http"),
        ({"PODIUM_GITHUB_API_URL": "api.github.com"}, "^PODIUM_GITHUB_API_URL: expected an http"),
        ({"PODIUM_ITCH_BASE_URL": "nope"}, "^PODIUM_ITCH_BASE_URL: expected an http"),
    ],
)
def test_issue_25_settings_are_checked_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_issue_25_defaults_keep_the_legacy_client_and_everything_off() -> None:
    settings = Settings.from_env({})
    assert settings.frontend == "legacy"
    assert not settings.enable_test_endpoints
    assert not settings.hackclub_client_id
    assert not settings.turnstile_secret_key


# Trusted proxies (issue 22 item 6): the one place that says who may name the client.


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ()),
        ("10.0.0.5", ("10.0.0.5",)),
        ("172.31.240.10, 10.0.0.0/8,::1", ("172.31.240.10", "10.0.0.0/8", "::1")),
    ],
)
def test_trusted_proxies_are_addresses_or_networks(raw: str, expected: tuple[str, ...]) -> None:
    assert Settings.from_env({"PODIUM_TRUSTED_PROXIES": raw}).trusted_proxies == expected


@pytest.mark.parametrize("raw", ["*", "haproxy", "10.0.0.0/33"])
def test_a_trusted_proxy_that_is_not_an_address_stops_the_start(raw: str) -> None:
    with pytest.raises(SettingsError, match=r"^PODIUM_TRUSTED_PROXIES: expected comma-separated IP"):
        Settings.from_env({"PODIUM_TRUSTED_PROXIES": raw})


def test_the_shipped_proxy_forwards_the_client_and_the_instances_trust_only_it() -> None:
    haproxy = (REPOSITORY / "deploy" / "scale" / "haproxy.cfg").read_text()
    assert "option forwardfor" in haproxy
    assert re.search(r"timeout http-request \d+s", haproxy)

    scale = yaml.safe_load((REPOSITORY / "docker-compose.scale.yml").read_text())
    proxy_address = scale["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    assert scale["x-api"]["environment"]["PODIUM_TRUSTED_PROXIES"] == proxy_address
    assert "ports" not in scale["x-api"]  # the instances are reached through the proxy
    main = yaml.safe_load(COMPOSE.read_text())
    assert main["services"]["api"]["ports"] == ["${PODIUM_PUBLISH_ADDRESS:-127.0.0.1}:8000:8000"]
    assert Settings.from_env(
        _compose_api_environment({**COMPOSE_REQUIRED, "PODIUM_MAILER": "console"})
    ).trusted_proxies == ("172.31.240.1",)
