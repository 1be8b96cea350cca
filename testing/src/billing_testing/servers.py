"""Servers on loopback for tests and benchmarks: uvicorn in a thread, subprocesses, free ports."""

from __future__ import annotations

import random
import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

# Ports are picked below the kernel's ephemeral range (32768-60999 on Linux): a port the kernel
# hands out for ``bind(0)`` is one it may also give an outgoing connection before our server binds
# it, which CI saw as "address already in use" at start-up. Each port is handed out once per process.
_LISTEN_PORTS = range(20000, 32768)
_handed_out: set[int] = set()
_lock = threading.Lock()


def free_port() -> int:
    """A loopback port nothing listens on now and that this process has not handed out before."""
    with _lock:
        for _ in range(1000):
            port = random.choice(_LISTEN_PORTS)
            if port in _handed_out:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    raise RuntimeError("no free loopback port in 20000-32767")


def wait_for_http(url: str, timeout: float = 15.0) -> None:
    """Poll ``url`` until it answers at all (any status), or raise ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class ThreadedUvicorn:
    """An ASGI app served by uvicorn on a free loopback port, in a daemon thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="auto")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
