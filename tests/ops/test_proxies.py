"""Per-client limits behind the shipped HAProxy, and slow clients (issue 22 items 5 and 6).

One ``podium serve`` (``PODIUM_TRUSTED_PROXIES=127.0.0.1``) behind HAProxy run with the shipped
``deploy/scale/haproxy.cfg`` (its backend pointed at the server, its docker resolver removed). Clients come
from distinct loopback addresses (127.0.0.2, 127.0.0.3, …), so each is a different client to HAProxy, which
names it in ``X-Forwarded-For``.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bench.pg import free_port

from tests.conftest import PostgresForTests
from tests.ops.conftest import StartServe
from tests.support.haproxy import haproxy_binary, running_haproxy

pytestmark = pytest.mark.postgres
SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "scale" / "haproxy.cfg"
LIMIT = 3


def _local_config(port: int, backend_port: int) -> str:
    """The shipped configuration, bound to loopback and pointed at one local server."""
    text = SHIPPED.read_text()
    text = re.sub(r"^(\s*)bind :8080\s*$", rf"\1bind 127.0.0.1:{port}", text, flags=re.M)
    text = re.sub(r"^\s*server .*\n", "", text, flags=re.M)
    text = re.sub(r"^resolvers docker\n(?:[ \t]+.*\n?)*", "", text, flags=re.M)
    text = text.replace(
        "    default-server", f"    server api 127.0.0.1:{backend_port} check\n    default-server"
    )
    assert "option forwardfor" in text
    assert f"127.0.0.1:{backend_port}" in text
    return text


@contextlib.contextmanager
def _haproxy(folder: Path, backend_port: int) -> Iterator[int]:
    port = free_port()
    config = folder / "haproxy.cfg"
    config.write_text(_local_config(port, backend_port))
    with running_haproxy(haproxy_binary(), config, port):
        yield port


def _login(port: int, source: str, n: int, headers: dict[str, str] | None = None) -> int:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, base_url=f"http://127.0.0.1:{port}", timeout=10.0) as client:
        response = client.post(
            "/request-login",
            params={"redirect": ""},
            json={"email": f"nobody{n}@example.com"},
            headers=headers,
        )
    return response.status_code


def test_behind_the_shipped_haproxy_each_client_has_its_own_login_counter(
    pg_server: PostgresForTests, serve_factory: StartServe, tmp_path: Path
) -> None:
    url = pg_server.create_database("podium_proxies")
    serve = serve_factory(
        {
            "PODIUM_DATABASE_URL": url,
            "PODIUM_LOGIN_IP_RATE_LIMIT": str(LIMIT),
            "PODIUM_LOGIN_RATE_LIMIT": "100",
            "PODIUM_TRUSTED_PROXIES": "127.0.0.1",
            "PODIUM_HEADER_TIMEOUT_SECONDS": "1",
            "PODIUM_LOG_LEVEL": "WARNING",
        }
    )
    serve.wait_healthy()
    with _haproxy(tmp_path, serve.port) as port:
        # Unknown addresses answer 404 (after being counted); the client past its limit gets 429.
        assert [_login(port, "127.0.0.2", n) for n in range(LIMIT)] == [404] * LIMIT
        assert _login(port, "127.0.0.2", LIMIT) == 429
        # A forged X-Forwarded-For changes nothing: HAProxy appends the real address, read right to left.
        assert _login(port, "127.0.0.2", 99, {"X-Forwarded-For": "203.0.113.9"}) == 429
        # Another client behind the same proxy has its own counter.
        assert _login(port, "127.0.0.3", 0) == 404
    # Straight to the server, a header naming a client is not trusted from an untrusted peer.
    forged = {"X-Forwarded-For": "127.0.0.3"}
    assert [_login(serve.port, "127.0.0.4", n, forged) for n in range(LIMIT)] == [404] * LIMIT
    assert _login(serve.port, "127.0.0.4", LIMIT, forged) == 429
    assert _login(port=serve.port, source="127.0.0.3", n=5) == 404  # 127.0.0.3's own count is untouched

    # Slow clients (item 5): a connection that trickles its headers is closed after the header timeout,
    # and so is one that opens and sends nothing; a normal request on the same server still works.
    trickling = socket.create_connection(("127.0.0.1", serve.port), timeout=30)
    silent = socket.create_connection(("127.0.0.1", serve.port), timeout=30)
    trickling.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    closed = False
    for _ in range(60):  # up to 30 s of trickling: far past the 1 s timeout
        try:
            trickling.sendall(b"X-A: b\r\n")
        except OSError:
            closed = True
            break
        time.sleep(0.5)
    assert closed, "a connection trickling its headers was never closed"
    silent.settimeout(30)
    assert silent.recv(1) == b"", "a connection that sent nothing was never closed"
    trickling.close()
    silent.close()
    assert httpx.get(f"{serve.base_url}/health", timeout=10).status_code == 200
