"""Serving the web app: uvicorn embedded in the appliance's event loop.

The appliance owns the stop signal, so uvicorn's own signal handling is off.
The socket is bound here (an address in use is a clear ``OSError``, not
uvicorn's ``sys.exit``) with TCP_NODELAY: asyncio sets it only on
``IPPROTO_TCP`` sockets and ``create_server`` makes protocol-0 ones, and
without it Nagle plus delayed ACKs add ~40 ms to every keep-alive call.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebServer:
    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._server = _EmbeddedServer(
            uvicorn.Config(
                app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
            )
        )
        self._host, self._requested = host, port
        self.port: int | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        sock = socket.create_server((self._host, self._requested), reuse_port=False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = sock.getsockname()[1]
        self.task = asyncio.create_task(self._server.serve(sockets=[sock]), name="web")
        while not self._server.started:
            if self.task.done():
                raise RuntimeError(
                    f"web server failed to start on {self._host}:{self._requested}"
                ) from self.task.exception()
            await asyncio.sleep(0.02)
        return self.port

    async def stop(self) -> None:
        self._server.should_exit = True
        if self.task is not None:
            await self.task
