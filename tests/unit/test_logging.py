"""Issue 12.7: readable log lines at a terminal, JSON lines everywhere else, unless told otherwise."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from typing import TextIO

import pytest

from podium.config import Settings, SettingsError
from podium.logging import configure_logging

TOUCHED = ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic", "alembic.runtime.plugins")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging rewires the process's loggers: put them back as pytest had them."""
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    saved = {
        name: (lg.handlers[:], lg.propagate, lg.disabled, lg.level)
        for name in TOUCHED
        for lg in [logging.getLogger(name)]
    }
    yield
    root.handlers[:], level = saved_root
    root.setLevel(level)
    for name, (handlers, propagate, disabled, lvl) in saved.items():
        lg = logging.getLogger(name)
        lg.handlers[:] = handlers
        lg.propagate, lg.disabled = propagate, disabled
        lg.setLevel(lvl)


@pytest.fixture
def terminal() -> Iterator[tuple[TextIO, int]]:
    """A real terminal (a pseudo-terminal): what the log writes, and the fd to read it back from."""
    controller, device = os.openpty()
    stream = os.fdopen(device, "w", buffering=1)
    try:
        yield stream, controller
    finally:
        stream.close()
        os.close(controller)


def log_one_line(stream: TextIO, fmt: str) -> None:
    configure_logging("INFO", fmt, stream=stream)
    logging.getLogger("podium.mail").info("Magic link for me@example.com: http://x/login?token=abc")
    stream.flush()


def read_terminal(controller: int) -> str:
    return os.read(controller, 65536).decode()


def test_the_default_format_is_readable_lines_at_a_terminal(terminal: tuple[TextIO, int]) -> None:
    stream, controller = terminal
    log_one_line(stream, Settings.from_env({}).log_format)
    line = read_terminal(controller).strip()
    assert line == "INFO    podium.mail: Magic link for me@example.com: http://x/login?token=abc"


def test_the_default_format_is_json_lines_in_a_file_or_pipe() -> None:
    stream = io.StringIO()
    log_one_line(stream, Settings.from_env({}).log_format)
    record = json.loads(stream.getvalue())
    assert record["msg"] == "Magic link for me@example.com: http://x/login?token=abc"
    assert record["level"] == "info"


def test_an_explicit_json_format_is_kept_at_a_terminal(terminal: tuple[TextIO, int]) -> None:
    stream, controller = terminal
    log_one_line(stream, Settings.from_env({"PODIUM_LOG_FORMAT": "json"}).log_format)
    assert json.loads(read_terminal(controller))["logger"] == "podium.mail"


def test_an_explicit_console_format_is_kept_in_a_file() -> None:
    stream = io.StringIO()
    log_one_line(stream, Settings.from_env({"PODIUM_LOG_FORMAT": "console"}).log_format)
    assert stream.getvalue().startswith("INFO    podium.mail: Magic link")


def test_an_unknown_format_is_refused_at_start_up() -> None:
    with pytest.raises(SettingsError, match="PODIUM_LOG_FORMAT"):
        Settings.from_env({"PODIUM_LOG_FORMAT": "yaml"})
