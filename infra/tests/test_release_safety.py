"""What makes a deploy safe to ship: synthesis needs no credentials, images run by digest, a failing
deployment rolls back, and CI gets in through OIDC into one narrow role."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from billing_infra.app import availability_zones_context_key
from billing_infra.deploy_role import AUDIENCE, BOOTSTRAP_ROLES
from billing_infra.environments import ENVIRONMENTS, GITLAB_PROJECT_PATH, REGION
from billing_infra.images import DIGEST_PATTERN, NO_IMAGE_YET, is_digest, parameter_name
from billing_infra.services import DEPLOYED, IMAGES, Service
from billing_infra.synth import Synthesis

STAGES = sorted(ENVIRONMENTS)
Template = dict[str, Any]


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def test_the_cloud_assembly_asks_aws_for_nothing(synthesis: Synthesis) -> None:
    # A `missing` entry is a look-up the CDK CLI would make with credentials before deploying (or
    # synthesizing): `cdk synth` without an AWS account must work.
    assert synthesis.missing == []
    manifest = json.loads((synthesis.outdir / "manifest.json").read_text())
    assert "missing" not in manifest


@pytest.mark.parametrize("stage", STAGES)
def test_subnets_are_in_the_environments_fixed_zones(synthesis: Synthesis, stage: str) -> None:
    environment = ENVIRONMENTS[stage]
    subnets = resources(synthesis.templates[stage], "AWS::EC2::Subnet").values()
    zones = {subnet["Properties"]["AvailabilityZone"] for subnet in subnets}
    assert zones == set(environment.availability_zones)
    assert all(zone.startswith(REGION) for zone in zones)
    assert availability_zones_context_key(environment) == (
        f"availability-zones:account={environment.account}:region={REGION}"
    )


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", IMAGES, ids=lambda s: s.name)  # the reconcile task too
def test_each_service_runs_its_image_by_digest_from_a_stack_parameter(
    synthesis: Synthesis, stage: str, service: Service
) -> None:
    template = synthesis.templates[stage]
    (task,) = [
        t
        for t in resources(template, "AWS::ECS::TaskDefinition").values()
        if t["Properties"]["Family"] == f"lovia-billing-{stage}-{service.name}"
    ]
    containers = {c["Name"]: c for c in task["Properties"]["ContainerDefinitions"]}
    image = containers[service.name]["Image"]
    assert image == {
        "Fn::Join": [
            "",
            [f"registry.gitlab.com/lovia/billing/{service.name}@", {"Ref": parameter_name(service)}],
        ]
    }
    parameter = template["Parameters"][parameter_name(service)]
    assert parameter["AllowedPattern"] == DIGEST_PATTERN
    assert re.fullmatch(DIGEST_PATTERN, parameter["Default"])
    assert parameter["Default"] == NO_IMAGE_YET
    for name, container in containers.items():
        if name != service.name:  # the sidecar: a pinned release, never `latest`
            assert not str(container["Image"]).endswith(":latest")
            assert re.search(r":v\d+\.\d+\.\d+$", str(container["Image"]))


def test_a_digest_is_exactly_sha256_and_64_hex() -> None:
    assert is_digest("sha256:" + "ab" * 32)
    for wrong in ("sha256:" + "AB" * 32, "sha256:" + "a" * 63, "latest", "master", "sha512:" + "a" * 64):
        assert not is_digest(wrong), wrong


@pytest.mark.parametrize("stage", STAGES)
def test_every_service_rolls_a_failing_deployment_back(synthesis: Synthesis, stage: str) -> None:
    services = resources(synthesis.templates[stage], "AWS::ECS::Service").values()
    assert {s["Properties"]["ServiceName"] for s in services} == {f"billing-{s.name}" for s in DEPLOYED}
    for service in services:
        configuration = service["Properties"]["DeploymentConfiguration"]
        assert configuration["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
        assert configuration["MinimumHealthyPercent"] == 100


@pytest.mark.parametrize("stage", STAGES)
def test_ci_deploys_through_gitlab_oidc_into_one_narrow_role(synthesis: Synthesis, stage: str) -> None:
    template = synthesis.templates[stage]
    environment = ENVIRONMENTS[stage]
    ((provider_id, provider),) = resources(template, "AWS::IAM::OIDCProvider").items()
    assert provider["Properties"]["Url"] == "https://gitlab.com"
    assert provider["Properties"]["ClientIdList"] == [AUDIENCE]
    (role,) = [
        r
        for r in resources(template, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == environment.deploy_role_name
    ]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"] == {"Federated": {"Ref": provider_id}}
    conditions = trust["Condition"]
    assert list(conditions) == ["StringEquals"]  # exact subjects: no wildcard branch or project
    assert conditions["StringEquals"]["gitlab.com:aud"] == AUDIENCE
    assert conditions["StringEquals"]["gitlab.com:sub"] == [
        f"project_path:{GITLAB_PROJECT_PATH}:ref_type:branch:ref:master",
        f"project_path:{GITLAB_PROJECT_PATH}:ref_type:branch:ref:{stage}",
    ]
    role_id = next(lid for lid, r in resources(template, "AWS::IAM::Role").items() if r is role)
    statements = [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (statement,) = statements
    assert statement["Action"] == "sts:AssumeRole"
    targets = json.dumps(statement["Resource"])
    for bootstrap in BOOTSTRAP_ROLES:
        assert f"role/cdk-hnb659fds-{bootstrap}-role-" in targets
    assert "*" not in targets
    assert role["Properties"]["MaxSessionDuration"] == 3600
    assert not list(resources(template, "AWS::IAM::User").values()), (
        "no IAM user, so no long-lived access keys"
    )
    assert not resources(template, "AWS::IAM::AccessKey")
