"""Process checks shared by the embedded-server launcher and the metrics directory clean-up."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """Is there a process with this pid (ours or another user's)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
