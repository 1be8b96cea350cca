"""cdk-nag (AwsSolutions rules) wiring: the pack, and acknowledgments that carry a written reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_checks(app: App) -> None:
    """Run the AwsSolutions pack on every stack at synthesis; any finding fails the synthesis."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(construct: IConstruct, rule: str, reason: str, *, finding: str | None = None) -> None:
    """Accept one AwsSolutions finding on ``construct`` (and its children), saying why.

    ``finding`` narrows a rule that reports per finding (``IAM5`` with ``Resource::*``): only that
    finding is accepted, any other of the same rule still fails the synthesis.
    """
    suffix = f"[{finding}]" if finding else ""
    Validations.of(construct).acknowledge(
        Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}{suffix}", reason=reason)
    )
