"""ECR repositories, one per image (services and the scheduled task): the alternative to GitLab's registry.

Tags are immutable: an image is pushed once under its commit SHA and run by digest, so nothing can
move a tag under a running service or scheduled task (docs/deploy.md, "Images").
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from billing_infra.services import IMAGES

UNTAGGED_IMAGE_DAYS: Final = 7
#: Enough SHA-tagged images to roll back weeks of deploys.
KEPT_IMAGES: Final = 50


def repository_name(stage: str, service: str) -> str:
    return f"lovia-billing/{stage}/{service}"


class Repositories(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.by_service: dict[str, ecr.Repository] = {
            service.name: ecr.Repository(
                self,
                service.name,
                repository_name=repository_name(stage, service.name),
                image_scan_on_push=True,
                image_tag_mutability=ecr.TagMutability.IMMUTABLE,
                lifecycle_rules=[
                    ecr.LifecycleRule(
                        rule_priority=1,
                        description="drop untagged images (pushes that were never tagged)",
                        tag_status=ecr.TagStatus.UNTAGGED,
                        max_image_age=Duration.days(UNTAGGED_IMAGE_DAYS),
                    ),
                    ecr.LifecycleRule(
                        rule_priority=2,
                        description=f"keep the last {KEPT_IMAGES} images for roll-backs",
                        tag_status=ecr.TagStatus.ANY,
                        max_image_count=KEPT_IMAGES,
                    ),
                ],
                removal_policy=RemovalPolicy.RETAIN,
            )
            for service in IMAGES
        }
