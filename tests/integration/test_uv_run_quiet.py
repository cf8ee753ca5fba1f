"""Issue 12.7: `uv run` does not recompile the whole environment ("Bytecode compiled 3609 files") each time.

uv recompiles every installed file on every `uv run` of a project whose ``[tool.uv]`` sets
``compile-bytecode`` (astral-sh/uv#12202). The project's own setting is applied to a throw-away project
with no dependencies, run twice by the real uv: the second run must not compile anything. The
environment is compiled once, at install, by bin/_uv.sh instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_uv_run_with_the_project_s_uv_settings_compiles_nothing_on_a_second_run(tmp_path: Path) -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv is needed: run the tests with ./bin/test (or uv run pytest)"
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text()).get("tool", {}).get("uv", {})
    setting = {k: v for k, v in ours.items() if k == "compile-bytecode"}
    probe = [
        "[project]",
        'name = "probe"',
        'version = "0"',
        'requires-python = ">=3.11"',
        "dependencies = []",
        "[tool.uv]",
        "package = false",
        *(f"{key} = {str(value).lower()}" for key, value in setting.items()),
    ]
    (tmp_path / "pyproject.toml").write_text("\n".join(probe) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    command = [uv, "run", "--offline", "--python", sys.executable, "python", "-c", "pass"]
    runs = [
        subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=True
        )
        for _ in range(2)
    ]
    assert "Bytecode compiled" not in runs[1].stderr, runs[1].stderr
