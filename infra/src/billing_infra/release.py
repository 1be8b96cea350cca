"""Deploy one release (the images of one commit, by digest) to one environment: what CI's deploy jobs run.

    python -m billing_infra.release deploy staging      # digests from IMAGE_DIGEST_<SERVICE>
    python -m billing_infra.release deploy production --dry-run

The digests come from the environment (CI's ``resolve-images`` job writes them, one
``IMAGE_DIGEST_<SERVICE>`` each, read from the registry by the commit's SHA tag), so staging and
production run exactly the images that were built once on the release branch. The stack is
deployed with ``cdk deploy``, the digests passed as stack parameters: CloudFormation rolls the
services, ECS's circuit breaker rolls a failing deployment back, and CloudFormation waits for the
services to be stable.

AWS access: GitLab's OIDC ID token (``AWS_ID_TOKEN``, audience ``sts.amazonaws.com``) is written to
a file and the AWS SDK of the CDK CLI exchanges it for the environment's deploy role
(``AWS_ROLE_ARN`` + ``AWS_WEB_IDENTITY_TOKEN_FILE``): no AWS keys are stored anywhere.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from billing_infra.environments import ENVIRONMENTS, DeployEnvironment
from billing_infra.images import digest_variable, is_digest, parameter_name
from billing_infra.services import IMAGES
from billing_infra.workspace import REPO_ROOT

#: The CDK CLI deploy jobs run (npm ``aws-cdk``), pinned so a release never picks up a new CLI.
CDK_CLI_VERSION: Final = "2.1148.1"
ID_TOKEN_VARIABLE: Final = "AWS_ID_TOKEN"  # noqa: S105 - a variable name, not a secret


class ReleaseError(Exception):
    """The release cannot be deployed as asked (a digest missing or malformed, no ID token)."""


def digests_from(env: Mapping[str, str]) -> dict[str, str]:
    """Every image's digest (services and the reconcile task), by name; refuses a missing or malformed one."""
    digests: dict[str, str] = {}
    problems: list[str] = []
    for service in IMAGES:
        value = env.get(digest_variable(service), "").strip()
        if not is_digest(value):
            problems.append(f"{digest_variable(service)}={value!r}")
        digests[service.name] = value
    if problems:
        raise ReleaseError("not an image digest (sha256:<64 hex>): " + ", ".join(problems))
    return digests


def deploy_command(environment: DeployEnvironment, digests: Mapping[str, str]) -> list[str]:
    """The ``cdk deploy`` of one stack with every image digest as a parameter."""
    stack = environment.stack_name
    command = [
        "npx",
        "--yes",
        f"aws-cdk@{CDK_CLI_VERSION}",
        "deploy",
        stack,
        "--exclusively",
        "--require-approval",
        "never",
        "--progress",
        "events",
    ]
    for service in IMAGES:
        command += ["--parameters", f"{stack}:{parameter_name(service)}={digests[service.name]}"]
    return command


def web_identity_environment(
    environment: DeployEnvironment, env: Mapping[str, str], token_dir: Path
) -> dict[str, str]:
    """What the AWS SDK needs to assume the deploy role with CI's OIDC ID token."""
    token = env.get(ID_TOKEN_VARIABLE, "")
    if not token:
        raise ReleaseError(f"{ID_TOKEN_VARIABLE} is not set: the job needs `id_tokens` (docs/deploy.md)")
    token_file = token_dir / "web-identity-token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    session = f"gitlab-{env.get('CI_PIPELINE_ID', 'local')}-{env.get('CI_JOB_ID', '0')}"
    return {
        "AWS_ROLE_ARN": environment.deploy_role_arn,
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
        "AWS_ROLE_SESSION_NAME": session,
    }


def deploy(stage: str, env: Mapping[str, str], *, dry_run: bool = False) -> int:
    environment = ENVIRONMENTS[stage]
    command = deploy_command(environment, digests_from(env))
    print("$ " + shlex.join(command), flush=True)
    if dry_run:
        return 0
    with tempfile.TemporaryDirectory(prefix="billing-release-") as token_dir:
        child_env = {**env, **web_identity_environment(environment, env, Path(token_dir))}
        child_env.pop(ID_TOKEN_VARIABLE, None)  # the token is in the file; keep it out of children
        # The command is built here from fixed parts and validated digests, never from free input.
        result = subprocess.run(command, cwd=REPO_ROOT / "infra", env=child_env, check=False)  # noqa: S603
        return result.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m billing_infra.release", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    deploy_parser = commands.add_parser("deploy", help="deploy the release's digests to one environment")
    deploy_parser.add_argument("stage", choices=sorted(ENVIRONMENTS))
    deploy_parser.add_argument("--dry-run", action="store_true", help="print the command, run nothing")
    args = parser.parse_args(argv)
    try:
        return deploy(args.stage, os.environ, dry_run=args.dry_run)
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
