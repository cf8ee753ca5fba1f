"""The check that files holding personal data are readable by their owner only."""

from __future__ import annotations

import stat
from pathlib import Path


def assert_private(root: Path) -> int:
    """Every file under ``root`` is 0600 and every folder (``root`` included) 0700; the files counted."""
    files = 0
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        expected = 0o700 if path.is_dir() else 0o600
        assert mode == expected, f"{path} is {mode:o}, not {expected:o}"
        files += path.is_file()
    return files
