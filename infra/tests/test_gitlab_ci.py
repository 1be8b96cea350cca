""".gitlab-ci.yml: valid for GitLab, tests every push, builds and deploys every service per environment."""

from __future__ import annotations

import subprocess
from typing import Any

import yaml

from billing_infra.environments import ENVIRONMENTS
from billing_infra.services import DEPLOYED, IMAGES
from billing_infra.workspace import REPO_ROOT, tool

CI_FILE = REPO_ROOT / ".gitlab-ci.yml"
CI: dict[str, Any] = yaml.safe_load(CI_FILE.read_text())


def rules(job: str) -> str:
    spec = CI[job]
    return str(spec.get("rules") or CI[spec["extends"]]["rules"])


def test_validates_against_gitlabs_schema() -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(CI_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_push_runs_make_test() -> None:
    assert CI["test"]["script"] == ["make test"]
    assert "push" in rules("test")


def test_images_and_deploys_only_from_the_environment_branches() -> None:
    for job in ("build", "deploy"):
        assert all(f'"{stage}"' in rules(job) for stage in ENVIRONMENTS), job
        assert "master" not in rules(job)


def test_build_pushes_every_image_to_both_registries_unprivileged() -> None:
    (matrix,) = CI["build"]["parallel"]["matrix"]
    assert matrix["SERVICE"] == [service.name for service in IMAGES]  # services and the reconcile task
    assert "kaniko" in CI["build"]["image"]["name"]
    command = CI["build"]["script"][-1]
    assert '--target "$SERVICE"' in command
    for registry in ("$CI_REGISTRY_IMAGE/$SERVICE", "$ECR_REGISTRY/lovia-billing/$CI_COMMIT_BRANCH/$SERVICE"):
        for tag in ("$CI_COMMIT_SHA", "$CI_COMMIT_BRANCH"):
            assert f"{registry}:{tag}" in command


def test_deploy_updates_every_fargate_service_of_the_environment() -> None:
    deploy = CI["deploy"]
    assert deploy["variables"]["SERVICES"].split() == [service.name for service in DEPLOYED]
    script = "\n".join(deploy["script"])
    assert "--force-new-deployment" in script
    assert 'CLUSTER="lovia-billing-$CI_COMMIT_BRANCH"' in script  # BillingStack's cluster_name
    assert all(env.cluster_name == f"lovia-billing-{env.stage}" for env in ENVIRONMENTS.values())
    assert deploy["environment"]["name"] == "$CI_COMMIT_BRANCH"
