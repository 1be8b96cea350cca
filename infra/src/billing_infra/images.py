"""The images a stack runs: one CloudFormation parameter per image (the five services and the daily
reconcile task), an image digest.

A task definition names its image by digest (``…/ingest@sha256:…``), never by a tag that can move.
The digests are stack parameters, not part of the template, so the template is the same for every
release and CI promotes a release by deploying the same digests to staging, then production
(``billing_infra.release``). An infrastructure-only ``cdk deploy`` keeps the deployed digests
(the CDK reuses a parameter's previous value when it is not given).
"""

from __future__ import annotations

import re
from typing import Final

from aws_cdk import CfnParameter
from constructs import Construct

from billing_infra.services import IMAGES, Service

DIGEST_PATTERN: Final = r"^sha256:[0-9a-f]{64}$"
#: Stands for "no image yet" on the first deploy, which starts no task (``-c firstDeploy=true``).
NO_IMAGE_YET: Final = "sha256:" + "0" * 64


def parameter_name(service: Service) -> str:
    """``IngestImageDigest``, ``XenditSyncImageDigest``…: the stack parameter of a service's image."""
    return "".join(part.capitalize() for part in service.name.split("-")) + "ImageDigest"


def digest_variable(service: Service) -> str:
    """``IMAGE_DIGEST_INGEST``…: the CI variable (dotenv) that carries a service's digest."""
    return "IMAGE_DIGEST_" + service.name.upper().replace("-", "_")


def is_digest(value: str) -> bool:
    return re.fullmatch(DIGEST_PATTERN, value) is not None


class ImageDigests(Construct):
    """The digest parameters of every image: the services and the scheduled reconcile task, so the task
    runs the same tested build as the services of its release."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.by_service: dict[str, str] = {}
        for service in IMAGES:
            parameter = CfnParameter(
                scope,
                parameter_name(service),
                type="String",
                allowed_pattern=DIGEST_PATTERN,
                default=NO_IMAGE_YET,
                description=f"Digest of the {service.name} image this stack runs (set by CI on deploy)",
            )
            self.by_service[service.name] = parameter.value_as_string
