"""The CDK app: one stack per environment, checked by cdk-nag's AwsSolutions rules at synthesis.

Context (``cdk -c key=value``): ``firstDeploy=true`` — create the services with no tasks, before the
secrets are filled and the first images pushed (docs/deploy.md). The images a stack runs are not
context but stack parameters (``billing_infra.images``), so the same template is promoted from
staging to production with the same digests.

Each environment's availability zones are written into the context under the key the CDK's own
look-up would have cached, so synthesis never asks AWS (``cdk synth`` needs no credentials).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App

from billing_infra.environments import ENVIRONMENTS, REGION, DeployEnvironment
from billing_infra.nag import add_checks
from billing_infra.stack import BillingStack


def availability_zones_context_key(environment: DeployEnvironment) -> str:
    """The key of the CDK's ``availability-zones`` context provider for this account and region."""
    return f"availability-zones:account={environment.account}:region={REGION}"


def fixed_context() -> dict[str, object]:
    """Context that answers every look-up the stacks would make, so none is left ``missing``."""
    return {
        availability_zones_context_key(env): list(env.availability_zones) for env in ENVIRONMENTS.values()
    }


def build_app(outdir: Path | None = None, context: dict[str, object] | None = None) -> App:
    app = App(outdir=str(outdir) if outdir else None, context={**fixed_context(), **(context or {})})
    first_deploy = str(app.node.try_get_context("firstDeploy")).lower() == "true"
    for environment in ENVIRONMENTS.values():
        BillingStack(app, environment, first_deploy=first_deploy)
    add_checks(app)
    return app
