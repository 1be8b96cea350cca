"""pytest plugin: real servers on loopback for every test directory.

* ``aws_endpoint`` (session): moto in server mode on a free port; ``AWS_ENDPOINT_URL`` points at it.
* ``topology`` (function): a fresh stage with every queue, DLQ and table provisioned, so queues stay
  short (moto's FIFO sends slow down as queues grow) and tests never see each other's messages.
* ``serve_asgi``: run any ASGI app under uvicorn in a thread on a free port; returns its base URL.
* ``sandbox_url``: start one of the four sandboxes that way.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from billing_testing.servers import ThreadedUvicorn, free_port
from lovia_billing.provision import provision
from lovia_billing.topology import Topology

REGION = "ap-southeast-1"


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    from billing_sandboxes.aws import start_aws_stand_in

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    port = free_port()
    server = start_aws_stand_in("127.0.0.1", port)
    url = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in _AWS_ENV}
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }
    )
    yield url
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


_AWS_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


@pytest.fixture
def stage() -> str:
    """A stage name no other test uses."""
    return "t" + secrets.token_hex(4)


@pytest.fixture
def topology(aws_endpoint: str, stage: str) -> Topology:  # noqa: ARG001 - needs the stand-in up
    topology = Topology(stage)
    provision(topology, region=REGION)
    return topology


@pytest.fixture
def queue_urls(topology: Topology) -> dict[str, str]:
    return provision(topology, region=REGION)


@pytest.fixture
def serve_asgi() -> Iterator[Callable[[Any], str]]:
    servers: list[ThreadedUvicorn] = []

    def start(app: Any) -> str:
        server = ThreadedUvicorn(app)
        server.start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox_url(serve_asgi: Callable[[Any], str]) -> Callable[..., str]:
    """``sandbox_url("erpnext")`` starts that sandbox (configured from the environment)."""
    from billing_sandboxes._registry import SANDBOXES

    def start(name: str, **kwargs: Any) -> str:
        module = importlib.import_module(SANDBOXES[name].module)
        return serve_asgi(module.create_app(**kwargs))

    return start
