"""Secrets Manager secrets: one JSON secret per service, plus the private registry's credentials.

Each key of a service's secret is the environment variable its settings read, so a task's execution
role reads only its own service's secret. The values are filled by an operator after the first
deploy (docs/deploy.md); CloudFormation creates them with a random placeholder and never writes
them again.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from billing_infra.nag import acknowledge
from billing_infra.services import IMAGES

#: Environment variables each service reads from its secret.
SECRET_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "ingest": ("BILLING_API_KEYS", "XENDIT_CALLBACK_TOKEN"),
    "xendit-sync": ("XENDIT_SECRET_KEY",),
    "erpnext-sync": ("ERPNEXT_API_KEY", "ERPNEXT_API_SECRET"),
    "chartmogul-sync": ("CHARTMOGUL_API_KEY",),
    "mautic-sync": ("MAUTIC_CLIENT_ID", "MAUTIC_CLIENT_SECRET"),
    # Read access is all it needs: a Xendit key with read permission, an ERPNext user who may read
    # Sales Invoices and Payment Entries, a ChartMogul key, a Mautic API user (docs/operations.md).
    "reconcile": (
        "XENDIT_SECRET_KEY",
        "ERPNEXT_API_KEY",
        "ERPNEXT_API_SECRET",
        "CHARTMOGUL_API_KEY",
        "MAUTIC_CLIENT_ID",
        "MAUTIC_CLIENT_SECRET",
    ),
}
NO_ROTATION = (
    "Third-party credentials (Xendit, ERPNext, ChartMogul, Mautic, GitLab deploy token) and our own "
    "API keys are rotated in the issuing system and then pasted here (docs/deploy.md); no rotation "
    "Lambda can mint them."
)


def secret_name(stage: str, name: str) -> str:
    return f"lovia-billing/{stage}/{name}"


class AppSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.by_service: dict[str, secretsmanager.Secret] = {}
        for service in IMAGES:
            self.by_service[service.name] = self._secret(
                service.name, stage, f"{', '.join(SECRET_KEYS[service.name])} of {service.name}"
            )
        #: A GitLab deploy token with read_registry: {"username": ..., "password": ...}.
        self.registry_credentials = self._secret(
            "gitlab-registry", stage, "GitLab Container Registry deploy token (username, password)"
        )
        acknowledge(self, "SMG4", NO_ROTATION)

    def _secret(self, name: str, stage: str, description: str) -> secretsmanager.Secret:
        return secretsmanager.Secret(
            self,
            name,
            secret_name=secret_name(stage, name),
            description=f"Lovia Billing {stage}: {description}",
            removal_policy=RemovalPolicy.RETAIN,
        )

    def container_secrets(self, service: str) -> dict[str, ecs.Secret]:
        secret = self.by_service[service]
        return {key: ecs.Secret.from_secrets_manager(secret, key) for key in SECRET_KEYS[service]}
