"""Issue 12.8: the README's settings table names every setting the code reads, with the code's defaults."""

from __future__ import annotations

import itertools
import re
from dataclasses import MISSING, fields
from pathlib import Path

from podium.config import PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
# Not settings: config.py's docstring says "field ``x`` is read from ``PODIUM_X``".
PLACEHOLDERS = {"PODIUM_X"}
# Fields of Settings that are not read from the environment.
NOT_READ = {"jwt_secret_generated"}


def expand(name: str) -> list[str]:
    """``PODIUM_AIRTABLE_{USERS,EVENTS}_TABLE_ID`` → both names."""
    parts = re.split(r"\{([^}]*)\}", name)
    choices = [[p] if i % 2 == 0 else p.split(",") for i, p in enumerate(parts)]
    return ["".join(combo) for combo in itertools.product(*choices)]


def settings_table() -> list[tuple[list[str], list[str]]]:
    """The rows of the README's Configuration table: (names, default cells), in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `PODIUM_"):
            continue
        names_cell, default_cell = (cell.strip() for cell in line.strip("|").split("|")[:2])
        names = [n for raw in re.findall(r"`(PODIUM_[^`]+)`", names_cell) for n in expand(raw)]
        rows.append((names, [part.strip() for part in default_cell.split(" / ")]))
    return rows


def documented() -> set[str]:
    return {name for names, _ in settings_table() for name in names}


def names_in_code() -> set[str]:
    found = set()
    for path in (ROOT / "src" / "podium").rglob("*.py"):
        found |= set(re.findall(r"\bPODIUM_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    return found - PLACEHOLDERS


def read_settings() -> dict[str, object]:
    return {
        PREFIX + f.name.upper(): f.default_factory() if f.default_factory is not MISSING else f.default
        for f in fields(Settings)
        if f.name not in NOT_READ
    }


def test_every_setting_is_in_the_readme_table() -> None:
    missing = sorted((set(read_settings()) | names_in_code()) - documented())
    assert missing == [], f"not in README.md's settings table: {missing}"


def test_the_readme_table_names_only_real_settings() -> None:
    unknown = sorted(documented() - set(read_settings()) - names_in_code())
    assert unknown == []


def as_documented(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, Path) and value.is_relative_to(ROOT):
        return str(value.relative_to(ROOT))  # a relative setting is taken from the project's folder
    return str(value)


def test_the_readme_table_gives_the_code_s_defaults() -> None:
    defaults = read_settings()
    checked = 0
    for names, cells in settings_table():
        if len(names) != len(cells):
            continue
        for name, cell in zip(names, cells, strict=True):
            literal = re.fullmatch(r"`([^`]*)`", cell)
            if literal is None or name not in defaults:
                continue
            default = defaults[name]
            assert default is not MISSING
            assert literal.group(1) == as_documented(default), name
            checked += 1
    assert checked >= 25
