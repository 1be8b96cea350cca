"""How the local stack is wired, defined once: ``billing dev`` (``make run``) and docker-compose read it.

Each component is a command, the environment it needs and the port it listens on. ``host`` maps a
component name to the host others reach it at: ``127.0.0.1`` for processes, the service name in
docker-compose. The credentials here are the sandboxes' own made-up local values, not secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

LOCAL_API_KEY = "local-dev-api-key"
LOCAL_CALLBACK_TOKEN = "local-callback-token"  # noqa: S105 - the sandbox's made-up token
LOCAL_XENDIT_KEY = "xnd_development_local_sandbox"
LOCAL_ERPNEXT_KEY, LOCAL_ERPNEXT_SECRET = "local-erpnext-key", "local-erpnext-secret"
LOCAL_CHARTMOGUL_KEY = "local-chartmogul-key"
LOCAL_CHARTMOGUL_DATA_SOURCE = "ds_local_lovia"
LOCAL_MAUTIC_CLIENT_ID, LOCAL_MAUTIC_CLIENT_SECRET = "local-mautic-client", "local-mautic-secret"
REGION = "ap-southeast-1"
#: What every component gets when it runs as a local process (``billing dev``, the test stack): its
#: output written as it happens, not in 8 KiB blocks (the Dockerfile sets the same in containers).
PROCESS_ENV = {"PYTHONUNBUFFERED": "1"}


@dataclass(frozen=True)
class Component:
    name: str
    command: tuple[str, ...]
    port: int | None
    env: dict[str, str] = field(default_factory=dict)
    kind: str = "service"  # "aws", "sandbox", "service" or "consumer": start order and display
    depends_on: tuple[str, ...] = ()


def components(
    host: Callable[[str], str] = lambda _name: "127.0.0.1", stage: str = "local", port_offset: int = 0
) -> list[Component]:
    """The local stack in start order; ``port_offset`` moves every port (a second stack beside the first)."""

    def port(default: int) -> int:
        return default + port_offset

    def url(name: str, default_port: int) -> str:
        return f"http://{host(name)}:{port(default_port)}"

    aws = {
        "AWS_ENDPOINT_URL": url("aws", 4566),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "BILLING_STAGE": stage,
    }
    downstream = {
        "XENDIT_BASE_URL": url("xendit-sandbox", 4001),
        "XENDIT_SECRET_KEY": LOCAL_XENDIT_KEY,
        "ERPNEXT_BASE_URL": url("erpnext-sandbox", 4002),
        "ERPNEXT_API_KEY": LOCAL_ERPNEXT_KEY,
        "ERPNEXT_API_SECRET": LOCAL_ERPNEXT_SECRET,
        "CHARTMOGUL_BASE_URL": url("chartmogul-sandbox", 4003),
        "CHARTMOGUL_API_KEY": LOCAL_CHARTMOGUL_KEY,
        "CHARTMOGUL_DATA_SOURCE_UUID": LOCAL_CHARTMOGUL_DATA_SOURCE,
        "MAUTIC_BASE_URL": url("mautic-sandbox", 4004),
        "MAUTIC_CLIENT_ID": LOCAL_MAUTIC_CLIENT_ID,
        "MAUTIC_CLIENT_SECRET": LOCAL_MAUTIC_CLIENT_SECRET,
    }
    sandbox_env = {
        "XENDIT_SANDBOX_SECRET_KEY": LOCAL_XENDIT_KEY,
        # Every product posts to <base>/<product> (invoice, fva, payment, recurring, ewallet, ...).
        "XENDIT_SANDBOX_CALLBACK_BASE_URL": url("ingest", 3005) + "/webhooks/xendit",
        # Xendit's test mode allows 60 requests a minute per endpoint (the sandbox's default); the
        # local stack and the load/reliability runs built on it need more throughput than that.
        "XENDIT_SANDBOX_RATE_LIMIT": "6000",
        "XENDIT_SANDBOX_CALLBACK_TOKEN": LOCAL_CALLBACK_TOKEN,
        "ERPNEXT_SANDBOX_API_KEY": LOCAL_ERPNEXT_KEY,
        "ERPNEXT_SANDBOX_API_SECRET": LOCAL_ERPNEXT_SECRET,
        "CHARTMOGUL_SANDBOX_API_KEY": LOCAL_CHARTMOGUL_KEY,
        "CHARTMOGUL_SANDBOX_DATA_SOURCE_UUID": LOCAL_CHARTMOGUL_DATA_SOURCE,
        "MAUTIC_SANDBOX_CLIENT_ID": LOCAL_MAUTIC_CLIENT_ID,
        "MAUTIC_SANDBOX_CLIENT_SECRET": LOCAL_MAUTIC_CLIENT_SECRET,
    }
    sandbox = "python", "-m", "billing_sandboxes"
    stack = [
        Component(
            "aws", (*sandbox, "aws", "--host", "0.0.0.0", "--port", str(port(4566))), port(4566), {}, "aws"
        ),
        *(
            Component(
                f"{name}-sandbox",
                (*sandbox, name, "--host", "0.0.0.0", "--port", str(port(default_port))),
                port(default_port),
                dict(sandbox_env),
                "sandbox",
            )
            for name, default_port in (
                ("xendit", 4001),
                ("erpnext", 4002),
                ("chartmogul", 4003),
                ("mautic", 4004),
            )
        ),
        Component(
            "ingest",
            ("billing-ingest",),
            port(3005),
            {
                **aws,
                "HOST": "0.0.0.0",
                "PORT": str(port(3005)),
                "BILLING_API_KEYS": LOCAL_API_KEY,
                "XENDIT_CALLBACK_TOKEN": LOCAL_CALLBACK_TOKEN,
            },
            "service",
            ("aws",),
        ),
    ]
    for integration in ("xendit", "erpnext", "chartmogul", "mautic"):
        stack.append(
            Component(
                f"{integration}-sync",
                (f"billing-{integration}-sync",),
                None,
                {**aws, **downstream},
                "consumer",
                ("aws", f"{integration}-sandbox"),
            )
        )
    return stack
