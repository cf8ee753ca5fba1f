"""The cutover runbook a first-time operator follows literally: every command as it is typed
(`uv run podium …`), the production settings before going live, and a balancer file HAProxy accepts."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
CUTOVER = (ROOT / "docs" / "cutover.md").read_text()


def test_every_podium_command_in_the_runbook_is_run_with_uv_run() -> None:
    commands = re.findall(r"`([^`]*\bpodium (?:airtable|backfill|db|serve|smoke)\b[^`]*)`", CUTOVER)
    assert len(commands) > 15
    bare = [c for c in commands if "uv run podium" not in c and "docker compose" not in c]
    assert bare == []


def test_going_live_sets_production_mode_the_mail_key_and_the_public_url() -> None:
    step = next(line for line in CUTOVER.splitlines() if line.startswith("| 8 |"))
    for setting in (
        "PODIUM_ENV=production",
        "PODIUM_JWT_SECRET",
        "PODIUM_LOOPS_API_KEY",
        "PODIUM_PRODUCTION_URL",
    ):
        assert setting in step, setting
    assert "uv run podium serve" in step


def test_the_no_docker_balancer_file_is_valid_haproxy() -> None:
    binary = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if binary is None:
        pytest.fail("HAProxy is not installed: apt-get install -y haproxy (see docs/scaling.md)")
    checked = subprocess.run(
        [binary, "-c", "-f", str(ROOT / "deploy" / "scale" / "haproxy-local.cfg")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "haproxy-local.cfg" in (ROOT / "docs" / "scaling.md").read_text()
