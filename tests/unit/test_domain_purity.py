"""The domain imports no framework and no outer layer (PRODUCT §1, STYLE habit 6)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "podium" / "domain"
FORBIDDEN = ("litestar", "sqlalchemy", "advanced_alchemy", "asyncpg", "pyairtable", "podium.adapters", "podium.http",
             "httpx", "jwt", "msgspec.json")  # fmt: skip


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(DOMAIN.rglob("*.py")), ids=lambda p: str(p.relative_to(DOMAIN)))
def test_domain_module_imports_no_framework(path: Path) -> None:
    bad = [name for name in _imports(path) if name.startswith(FORBIDDEN)]
    assert bad == []
