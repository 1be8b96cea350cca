"""Per-environment settings of the AWS deployment (staging, production), in one place.

Account, region and availability zones are fixed here so that synthesis needs no AWS credentials and
no look-ups (``billing_infra.app`` hands the zones to the CDK as context, the answer a look-up would
have cached); the account ids are placeholders until Finance Tech fills in Lovia's own (see
docs/deploy.md): the CDK refuses to deploy a stack into an account other than the one it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

REGION: Final = "ap-southeast-1"
DOMAIN: Final = "lovia.life"
#: The ingest's public API version: each version gets its own host name and target group.
API_VERSION: Final = "v6"
#: Where GitLab CI pushes the images (``$CI_REGISTRY_IMAGE``); the tasks pull from here.
GITLAB_REGISTRY_IMAGE: Final = "registry.gitlab.com/lovia/billing"
#: GitLab's OIDC issuer and this project's path: CI's ID tokens name them (``iss``, ``sub``).
GITLAB_URL: Final = "https://gitlab.com"
GITLAB_PROJECT_PATH: Final = "lovia/billing"
#: The branch every image is built from; the environment branches only promote its commits.
RELEASE_BRANCH: Final = "master"


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
    #: The zones of the VPC's subnets: fixed, so synthesis never looks them up (no credentials).
    availability_zones: tuple[str, ...]
    #: Share of traces kept (``OTEL_TRACES_SAMPLER_ARG``); a kept trace is kept end to end.
    trace_sample_ratio: float
    #: Images come from GitLab's registry (with registry credentials) or from this stack's ECR.
    image_source: str = "gitlab"

    @property
    def host_name(self) -> str:
        """The ingest's host name on the load balancer, e.g. ``billing-v6-staging.lovia.life``."""
        return f"billing-{API_VERSION}-{self.stage}.{DOMAIN}"

    @property
    def public_base_url(self) -> str:
        """What the ingest's OpenAPI document names as its server (``PUBLIC_BASE_URL``)."""
        return f"https://{self.host_name}"

    @property
    def deploy_role_name(self) -> str:
        """The IAM role GitLab CI assumes (OIDC) to deploy this environment."""
        return f"lovia-billing-{self.stage}-gitlab-deploy"

    @property
    def deploy_role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.deploy_role_name}"

    @property
    def deploy_branches(self) -> tuple[str, ...]:
        """The branches whose pipelines may deploy here: the release branch and the stage's own."""
        return (RELEASE_BRANCH, self.stage)

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
    availability_zones=("ap-southeast-1a", "ap-southeast-1b"),
    trace_sample_ratio=1.0,
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
    availability_zones=("ap-southeast-1a", "ap-southeast-1b"),
    trace_sample_ratio=0.2,
)

ENVIRONMENTS: Final = {environment.stage: environment for environment in (STAGING, PRODUCTION)}
