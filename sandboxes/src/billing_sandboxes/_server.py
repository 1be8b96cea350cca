"""The stand-in's HTTP server: moto under waitress, the fault injector and request log in front.

Why not moto's own ``ThreadedMotoServer`` (werkzeug's development server): it answers every request
with ``Connection: close`` and starts a thread per connection, so every AWS call of every process
opened a TCP connection (10-13 % of the ingest's CPU went to connect/close) and the stand-in spent
a fifth of its time on threads and sockets; then it waits up to 10 ms per request to drain the
closed socket, and logs each request to stderr under a lock. AWS keeps connections alive.
waitress (a well-kept pure-Python WSGI server) keeps them alive and serves from a fixed pool of
threads: the same moto, 20 % less CPU per request and 1.5-2x the rate (``bench/README.md``).
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

import waitress
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from billing_sandboxes._aws_faults import AwsFaults
from billing_sandboxes._request_log import RequestLog

#: Each waiting long poll holds one thread (up to 20 s); a whole local stack holds about ten.
THREADS = 128


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves which host.

    moto works it out again on every request, under one lock, by listing its package directory
    (``os.listdir`` and ~200 ``isdir``) twice and trying every backend's URL pattern: a sixth of the
    stand-in's time per request. The answer for a host never changes within a process.
    """

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - one dispatcher per process, never freed
    def get_backend_for_host(self, host: str | None) -> Any:
        return super().get_backend_for_host(host)


class StandInServer:
    """Serves in a daemon thread of this process from ``start()`` until ``stop()``."""

    def __init__(self, host: str, port: int) -> None:
        self.request_log = RequestLog(_Dispatcher(create_backend_app))
        self.faults = AwsFaults(self.request_log)
        self._server: Any = waitress.create_server(
            self.faults,
            host=host,
            port=port,
            threads=THREADS,
            connection_limit=1000,  # every process keeps a pool of connections open
            channel_timeout=600,  # idle keep-alive connections, as long as a client's pool keeps them
            asyncore_use_poll=True,  # no select(): no limit of 1024 descriptors
            ident="moto",
        )
        self._thread = threading.Thread(target=self._server.run, name="aws-stand-in", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> None:
        logging.getLogger("waitress").setLevel(logging.WARNING)  # keeps "task queue depth" warnings
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection from the server's own loop, then let its threads go."""
        server = self._server
        server.trigger.pull_trigger(lambda: _close_all(server))
        self._thread.join(timeout)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)


def _close_all(server: Any) -> None:
    from waitress import wasyncore

    wasyncore.close_all(server._map)
