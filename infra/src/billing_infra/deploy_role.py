"""GitLab CI's way into the account: OIDC federation and one deploy role, no stored AWS keys.

A deploy job asks GitLab for an ID token (``id_tokens`` with audience ``sts.amazonaws.com``) and
exchanges it for this role (``AssumeRoleWithWebIdentity``); the trust policy accepts only tokens of
this project's pipelines on the branches that may deploy here (the release branch and the
environment's own). The role can do one thing: assume the CDK bootstrap roles of this account and
region, which ``cdk deploy`` uses to publish the template and run CloudFormation.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from billing_infra.environments import GITLAB_PROJECT_PATH, GITLAB_URL, DeployEnvironment

AUDIENCE: Final = "sts.amazonaws.com"
#: The CDK bootstrap roles ``cdk deploy`` assumes (``cdk bootstrap`` creates them).
BOOTSTRAP_ROLES: Final = ("deploy", "file-publishing", "lookup")


def issuer_host() -> str:
    return GITLAB_URL.removeprefix("https://")


def allowed_subjects(environment: DeployEnvironment) -> list[str]:
    """GitLab's ``sub`` claim of a pipeline on each branch allowed to deploy this environment."""
    return [
        f"project_path:{GITLAB_PROJECT_PATH}:ref_type:branch:ref:{branch}"
        for branch in environment.deploy_branches
    ]


def bootstrap_role_arn(stack: Stack, role: str) -> str:
    qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
    return (
        f"arn:{stack.partition}:iam::{stack.account}:role/"
        f"cdk-{qualifier}-{role}-role-{stack.account}-{stack.region}"
    )


class GitLabDeployRole(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, environment: DeployEnvironment) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.provider = iam.OidcProviderNative(self, "GitLab", url=GITLAB_URL, client_ids=[AUDIENCE])
        host = issuer_host()
        self.role = iam.Role(
            self,
            "Role",
            role_name=environment.deploy_role_name,
            description=f"GitLab CI deploys Lovia Billing {environment.stage} (OIDC, no stored keys)",
            max_session_duration=Duration.hours(1),
            assumed_by=iam.WebIdentityPrincipal(
                self.provider.oidc_provider_arn,
                conditions={
                    "StringEquals": {f"{host}:aud": AUDIENCE, f"{host}:sub": allowed_subjects(environment)}
                },
            ),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                resources=[bootstrap_role_arn(stack, role) for role in BOOTSTRAP_ROLES],
            )
        )
