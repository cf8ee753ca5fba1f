from __future__ import annotations

from pathlib import Path

import pytest

from podium.config import Settings, SettingsError


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
