"""Hear SIGTERM / SIGINT inside the app, before the server's own shutdown waits for open responses.

uvicorn, on SIGTERM, stops accepting and then waits up to the shutdown timeout for every response to
finish; the app's lifespan shutdown comes only after that. A response that never finishes by itself (a
live stream) would be cut at the timeout. :func:`on_termination` chains a handler in front of the one in
place (uvicorn's) so the app can end such responses cleanly at once; the previous handler still runs.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def on_termination(callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` in the running loop on SIGTERM/SIGINT; returns a function that uninstalls it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signal handlers belong to the main thread (a test's in-thread server)
    loop = asyncio.get_running_loop()
    previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(callback)
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)
        elif before == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    for signum in SIGNALS:
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, handler)

    def uninstall() -> None:
        for signum, before in previous.items():
            if signal.getsignal(signum) is handler:
                signal.signal(signum, before if before is not None else signal.SIG_DFL)

    return uninstall
