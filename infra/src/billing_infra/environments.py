"""Per-environment settings of the AWS deployment (staging, production), in one place.

Account and region are fixed here so that synthesis needs no AWS credentials and no look-ups; the
account ids are placeholders until Finance Tech fills in Lovia's own (see docs/deploy.md): the CDK
refuses to deploy a stack into an account other than the one it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

REGION: Final = "ap-southeast-1"
AVAILABILITY_ZONES: Final = ("ap-southeast-1a", "ap-southeast-1b")
DOMAIN: Final = "lovia.life"
#: The ingest's public API version: each version gets its own host name and target group.
API_VERSION: Final = "v6"
#: Where GitLab CI pushes the images (``$CI_REGISTRY_IMAGE``); the tasks pull from here.
GITLAB_REGISTRY_IMAGE: Final = "registry.gitlab.com/lovia/billing"


@dataclass(frozen=True)
class DeployEnvironment:
    stage: str  # BILLING_STAGE, and the prefix of every queue and table (lovia_billing.topology)
    account: str
    ingest_min_tasks: int
    ingest_max_tasks: int
    consumer_max_tasks: int
    nat_gateways: int
    log_retention_days: int
    xendit_base_url: str
    erpnext_base_url: str
    chartmogul_base_url: str
    mautic_base_url: str
    chartmogul_data_source_uuid: str
    #: Images come from GitLab's registry (with registry credentials) or from this stack's ECR.
    image_source: str = "gitlab"

    @property
    def host_name(self) -> str:
        """The ingest's host name on the load balancer, e.g. ``billing-v6-staging.lovia.life``."""
        return f"billing-{API_VERSION}-{self.stage}.{DOMAIN}"

    @property
    def stack_name(self) -> str:
        return f"lovia-billing-{self.stage}"

    @property
    def cluster_name(self) -> str:
        return f"lovia-billing-{self.stage}"

    @property
    def is_production(self) -> bool:
        return self.stage == "production"


STAGING: Final = DeployEnvironment(
    stage="staging",
    account="111111111111",  # placeholder: Lovia's staging account id
    ingest_min_tasks=1,
    ingest_max_tasks=2,
    consumer_max_tasks=2,
    nat_gateways=1,
    log_retention_days=30,
    xendit_base_url="https://api.xendit.co",  # Xendit's test mode is chosen by the key, not the URL
    erpnext_base_url="https://erp-staging.lovia.life",
    chartmogul_base_url="https://api.chartmogul.com",
    mautic_base_url="https://mautic-staging.lovia.life",
    chartmogul_data_source_uuid="ds_staging_placeholder",
)

PRODUCTION: Final = DeployEnvironment(
    stage="production",
    account="222222222222",  # placeholder: Lovia's production account id
    ingest_min_tasks=2,  # two tasks, one per availability zone, so one AZ can fail
    ingest_max_tasks=6,
    consumer_max_tasks=6,
    nat_gateways=2,
    log_retention_days=365,
    xendit_base_url="https://api.xendit.co",
    erpnext_base_url="https://erp.lovia.life",
    chartmogul_base_url="https://api.chartmogul.com",
    mautic_base_url="https://mautic.lovia.life",
    chartmogul_data_source_uuid="ds_production_placeholder",
)

ENVIRONMENTS: Final = {environment.stage: environment for environment in (STAGING, PRODUCTION)}
