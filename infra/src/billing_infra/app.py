"""The CDK app: one stack per environment, checked by cdk-nag's AwsSolutions rules at synthesis.

Context (``cdk -c key=value``): ``imageTag`` — the image tag the task definitions run (default: the
environment's name, the tag CI moves on every build); ``firstDeploy=true`` — create the services
with no tasks, before the secrets are filled and the first images pushed (docs/deploy.md).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App

from billing_infra.environments import ENVIRONMENTS
from billing_infra.nag import add_checks
from billing_infra.stack import BillingStack


def build_app(outdir: Path | None = None, context: dict[str, object] | None = None) -> App:
    app = App(outdir=str(outdir) if outdir else None, context=context)
    first_deploy = str(app.node.try_get_context("firstDeploy")).lower() == "true"
    for environment in ENVIRONMENTS.values():
        image_tag = app.node.try_get_context("imageTag") or environment.stage
        BillingStack(app, environment, image_tag=str(image_tag), first_deploy=first_deploy)
    add_checks(app)
    return app
