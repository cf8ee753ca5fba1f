"""A trivial HTTP/1.1 keep-alive server that answers every GET with the same canned bytes.

It exists to measure the load generator's own ceiling: uvloop + a raw asyncio Protocol, no parsing beyond
finding the end of each request's headers, one process per core (SO_REUSEPORT). Whatever req/s ``wrk``
reaches against it is a lower bound on what ``wrk`` can generate on this machine.

    uv run python -m bench.echo --port 8002 --size 160000 --procs 1
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import socket
from typing import Any

import uvloop


def _response(size: int) -> bytes:
    body = b"x" * size
    head = (
        f"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


class Canned(asyncio.Protocol):
    def __init__(self, response: bytes) -> None:
        self.response = response
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports are not asyncio.Transport subclasses

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        n = self.buffer.count(b"\r\n\r\n")
        if n and self.transport is not None:
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(self.response * n)


def _serve(port: int, size: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    response = _response(size)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: Canned(response), sock=sock)
        async with server:
            await server.serve_forever()

    uvloop.run(main())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--size", type=int, default=2, help="response body bytes")
    p.add_argument("--procs", type=int, default=1)
    a = p.parse_args()
    if a.procs == 1:
        _serve(a.port, a.size)
        return
    procs = [multiprocessing.Process(target=_serve, args=(a.port, a.size)) for _ in range(a.procs)]
    for proc in procs:
        proc.start()

    def stop(*_: object) -> None:
        for proc in procs:
            if proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for proc in procs:
        proc.join()


if __name__ == "__main__":
    main()
