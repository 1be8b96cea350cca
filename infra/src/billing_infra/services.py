"""The deployable services, named once: image/target names, workspace packages, console scripts.

Read by the CDK stacks, the docker-compose generator and the tests of the Dockerfile and CI file, so
a service added here shows up (or fails a test) everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lovia_billing.topology import Integration

INGEST_PORT: Final = 3005
#: The consumers' heartbeat file, checked by ``python -m lovia_billing.consumer.healthcheck``.
HEALTH_FILE: Final = "/tmp/billing-heartbeat"  # noqa: S108 - per-container tmpfs, one writer
INGEST_HEALTHCHECK: Final = f"curl -f http://localhost:{INGEST_PORT}/ || exit 1"
CONSUMER_HEALTHCHECK: Final = "python -m lovia_billing.consumer.healthcheck"


@dataclass(frozen=True)
class Service:
    """One image: a Dockerfile target built from one workspace package."""

    name: str  # Dockerfile target, image name, ECS service and compose service
    package: str  # uv workspace package installed into the image
    source_dir: str  # the package's directory in the repository
    script: str  # console script the container runs
    integration: Integration | None = None  # the queue a consumer drains

    @property
    def is_consumer(self) -> bool:
        return self.integration is not None


def consumer(integration: Integration) -> Service:
    return Service(
        name=f"{integration}-sync",
        package=f"billing-{integration}-sync",
        source_dir=f"services/{integration}_sync",
        script=f"billing-{integration}-sync",
        integration=integration,
    )


INGEST: Final = Service("ingest", "billing-ingest", "services/ingest", "billing-ingest")
CONSUMERS: Final = tuple(consumer(integration) for integration in Integration)
#: What runs in AWS: built and pushed by CI, one Fargate service each.
DEPLOYED: Final = (INGEST, *CONSUMERS)
#: The operators' command line as an image: ``billing reconcile`` runs from it as a daily scheduled
#: task (no service, no health check: it runs, reports and exits).
RECONCILE: Final = Service("reconcile", "billing-cli", "cli", "billing")
SCHEDULED: Final = (RECONCILE,)
#: Every image CI builds and pushes (services and scheduled tasks).
IMAGES: Final = (*DEPLOYED, *SCHEDULED)
#: The AWS stand-in and the API sandboxes share one image; docker-compose only, never deployed.
SANDBOXES: Final = Service("sandboxes", "billing-sandboxes", "sandboxes", "billing-sandbox")
