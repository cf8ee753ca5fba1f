"""Worker processes of ``podium serve --workers N``."""

from __future__ import annotations

import os
import signal
import sys


def stop_with_supervisor() -> None:
    """In a worker of ``podium serve --workers N``: be sent SIGTERM when the supervisor dies.

    A SIGKILLed supervisor cannot stop its workers, which would keep serving on the shared socket
    against a database nobody manages any more; the kernel's parent-death signal does it instead.
    """
    supervisor = os.environ.get("PODIUM_SUPERVISOR_PID")
    if not supervisor or int(supervisor) == os.getpid() or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != int(supervisor):
        # The supervisor died before the request above took effect.
        os.kill(os.getpid(), signal.SIGTERM)
