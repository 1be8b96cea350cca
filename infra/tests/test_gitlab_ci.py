""".gitlab-ci.yml: valid for GitLab, and read as data, the release rules: test and build every push and
merge request; build each image once on master and deploy it by digest to staging automatically and
to production behind a manual gate; the environment branches still trigger deploys; AWS through
OIDC only."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from billing_infra import release
from billing_infra.ci_rules import Pipeline, Planned, UnsupportedExpression, evaluate, needs, plan, resolved
from billing_infra.deploy_role import AUDIENCE
from billing_infra.environments import ENVIRONMENTS, RELEASE_BRANCH
from billing_infra.images import digest_variable, parameter_name
from billing_infra.services import IMAGES, RECONCILE, Service
from billing_infra.workspace import REPO_ROOT, tool

CI_FILE = REPO_ROOT / ".gitlab-ci.yml"
CI: dict[str, Any] = yaml.safe_load(CI_FILE.read_text())

FEATURE_PUSH = Pipeline("push", "fix-callback-amounts")
MERGE_REQUEST = Pipeline("merge_request_event")
MASTER_PUSH = Pipeline("push", "master")
STAGING_PUSH = Pipeline("push", "staging")
PRODUCTION_PUSH = Pipeline("push", "production")
EVERY_PIPELINE = [FEATURE_PUSH, MERGE_REQUEST, MASTER_PUSH, STAGING_PUSH, PRODUCTION_PUSH]
DIGEST = "sha256:" + "5e" * 32


def test_validates_against_gitlabs_schema() -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(CI_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_reader_evaluates_what_gitlab_would() -> None:
    variables = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "master", "RELEASE_BRANCH": "master"}
    assert evaluate('$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $RELEASE_BRANCH', variables)
    assert not evaluate('$CI_PIPELINE_SOURCE == "merge_request_event"', variables)
    assert evaluate(
        '($CI_COMMIT_BRANCH == "x" || $CI_COMMIT_BRANCH != "y") && $CI_PIPELINE_SOURCE', variables
    )
    assert not evaluate("$CI_OPEN_MERGE_REQUESTS", variables)
    with pytest.raises(UnsupportedExpression):
        evaluate("$CI_COMMIT_BRANCH =~ /^release/", variables)  # not used, so not read: refused


@pytest.mark.parametrize("pipeline", EVERY_PIPELINE, ids=lambda p: f"{p.source}-{p.branch}")
def test_every_push_and_merge_request_runs_make_test(pipeline: Pipeline) -> None:
    jobs = plan(CI, pipeline)
    assert jobs["test"].when == "on_success"
    assert resolved(CI, "test")["script"] == ["make test"]


def test_a_branch_with_an_open_merge_request_is_tested_once_by_its_merge_request() -> None:
    assert plan(CI, Pipeline("push", "feature", open_merge_requests=True)) == {}
    assert "test" in plan(CI, MERGE_REQUEST)


@pytest.mark.parametrize("pipeline", [FEATURE_PUSH, MERGE_REQUEST], ids=["feature-push", "merge-request"])
def test_other_branches_and_merge_requests_build_every_image_but_push_nothing_and_deploy_nothing(
    pipeline: Pipeline,
) -> None:
    jobs = plan(CI, pipeline)
    assert set(jobs) == {"test", "build"}
    assert jobs["build"].variables["PUSH_IMAGE"] == "false"


def test_master_builds_once_then_deploys_to_staging_and_waits_for_a_person_for_production() -> None:
    jobs = plan(CI, MASTER_PUSH)
    assert set(jobs) == {"test", "build", "resolve-images", "deploy-staging", "deploy-production"}
    assert jobs["build"].variables["PUSH_IMAGE"] == "true"
    assert jobs["deploy-staging"].when == "on_success"
    assert jobs["deploy-production"] == Planned(
        when="manual", allow_failure=True, variables={"DEPLOY_STAGE": "production"}
    )
    # production goes after staging in the same pipeline, with the same resolved digests
    assert ("deploy-staging", True) in needs(CI, "deploy-production")
    assert ("resolve-images", False) in needs(CI, "deploy-production")
    assert ("resolve-images", False) in needs(CI, "deploy-staging")
    assert ("test", False) in needs(CI, "build"), "nothing untested is pushed"
    stages = CI["stages"]
    order = [resolved(CI, job)["stage"] for job in ("test", "build", "resolve-images", "deploy-staging")]
    assert [stages.index(stage) for stage in order] == sorted(stages.index(stage) for stage in order)
    assert stages.index(resolved(CI, "deploy-production")["stage"]) > stages.index("staging")


def test_pushing_master_to_an_environment_branch_deploys_that_commits_images_without_rebuilding() -> None:
    staging = plan(CI, STAGING_PUSH)
    assert set(staging) == {"test", "resolve-images", "deploy-staging"}
    assert staging["deploy-staging"].when == "on_success"
    production = plan(CI, PRODUCTION_PUSH)
    assert set(production) == {"test", "resolve-images", "deploy-production"}
    assert production["deploy-production"].when == "manual", "production always waits for a person"


@pytest.mark.parametrize("pipeline", EVERY_PIPELINE, ids=lambda p: f"{p.source}-{p.branch}")
def test_every_needed_job_is_in_the_pipeline(pipeline: Pipeline) -> None:
    jobs = plan(CI, pipeline)
    for job in jobs:
        for needed, optional in needs(CI, job):
            assert optional or needed in jobs, f"{job} needs {needed}, absent from this pipeline"


@pytest.mark.parametrize("stage", sorted(ENVIRONMENTS))
def test_deploy_jobs_run_only_from_the_branches_the_deploy_role_trusts(stage: str) -> None:
    branches = {RELEASE_BRANCH, "staging", "production", "fix-callback-amounts", "main"}
    deploying = {branch for branch in branches if f"deploy-{stage}" in plan(CI, Pipeline("push", branch))}
    assert deploying == set(ENVIRONMENTS[stage].deploy_branches)
    assert f"deploy-{stage}" not in plan(CI, MERGE_REQUEST)


@pytest.mark.parametrize("stage", sorted(ENVIRONMENTS))
def test_deploy_job_assumes_the_environments_role_with_an_oidc_token(stage: str) -> None:
    job = resolved(CI, f"deploy-{stage}")
    environment = ENVIRONMENTS[stage]
    assert job["environment"]["name"] == stage
    assert job["environment"]["url"] == environment.public_base_url
    assert job["environment"]["deployment_tier"] == stage
    assert job["resource_group"] == stage, "one deployment per environment at a time"
    assert job["id_tokens"] == {release.ID_TOKEN_VARIABLE: {"aud": AUDIENCE}}
    assert job["variables"]["DEPLOY_STAGE"] == stage
    assert job["script"][-1] == '.venv/bin/python -m billing_infra.release deploy "$DEPLOY_STAGE"'


def test_no_static_aws_keys_anywhere_in_the_pipeline() -> None:
    text = yaml.safe_dump(CI)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert name not in text


def test_images_are_built_rootless_by_buildah_for_every_image_and_pushed_by_commit_sha() -> None:
    build = resolved(CI, "build")
    assert build["image"]["name"].startswith("quay.io/containers/buildah:v")
    assert "kaniko" not in CI_FILE.read_text().lower()
    (matrix,) = build["parallel"]["matrix"]
    # the five services and the daily reconcile task: built, pushed and resolved the same way
    assert RECONCILE in IMAGES
    assert matrix["SERVICE"] == [service.name for service in IMAGES]
    assert CI["variables"]["SERVICES"].split() == [service.name for service in IMAGES]
    assert build["variables"]["BUILDAH_ISOLATION"] == "chroot"  # no privileged container
    script = "\n".join(build["script"])
    assert 'IMAGE="$CI_REGISTRY_IMAGE/$SERVICE:$CI_COMMIT_SHA"' in script
    assert '--target "$SERVICE"' in script
    assert "--digestfile" in script
    assert "$CI_COMMIT_BRANCH" not in script, "no moving branch tags"
    assert 'buildah pull --quiet "docker://$IMAGE"' in script, "a commit's images are built once"


def test_every_job_image_is_a_pinned_release() -> None:
    for name, job in CI.items():
        if not isinstance(job, dict) or "image" not in job:
            continue
        image = job["image"]
        reference = image["name"] if isinstance(image, dict) else image
        assert re.search(r":v?\d+\.\d+\.\d+(-[a-z]+)?$", reference), f"{name}: {reference} is not pinned"


def test_resolved_digests_reach_the_deploy_jobs_under_the_names_release_reads() -> None:
    job = resolved(CI, "resolve-images")
    assert job["artifacts"]["reports"]["dotenv"] == "images.env"
    script = "\n".join(job["script"])
    assert '"docker://$CI_REGISTRY_IMAGE/$service:$CI_COMMIT_SHA"' in script
    assert """echo "IMAGE_DIGEST_$(echo "$service" | tr 'a-z-' 'A-Z_')=$digest" >> images.env""" in script
    shell_name = str.maketrans("abcdefghijklmnopqrstuvwxyz-", "ABCDEFGHIJKLMNOPQRSTUVWXYZ_")
    for service in IMAGES:
        assert "IMAGE_DIGEST_" + service.name.translate(shell_name) == digest_variable(service)
    for deploy in ("deploy-staging", "deploy-production"):
        assert {"job": "resolve-images", "artifacts": True} in resolved(CI, deploy)["needs"]


def test_release_deploys_every_digest_as_a_stack_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    env = {digest_variable(service): DIGEST for service in IMAGES}
    command = release.deploy_command(ENVIRONMENTS["production"], release.digests_from(env))
    assert command[:5] == [
        "npx",
        "--yes",
        f"aws-cdk@{release.CDK_CLI_VERSION}",
        "deploy",
        "lovia-billing-production",
    ]
    parameters = [command[i + 1] for i, arg in enumerate(command) if arg == "--parameters"]
    assert parameters == [f"lovia-billing-production:{parameter_name(s)}={DIGEST}" for s in IMAGES]
    assert release.deploy("production", env, dry_run=True) == 0
    out = capsys.readouterr().out
    assert "IngestImageDigest=" + DIGEST in out
    assert "ReconcileImageDigest=" + DIGEST in out, "the scheduled task runs the release's digest too"


@pytest.mark.parametrize("broken", ["", "latest", "sha256:abc", DIGEST.upper()])
@pytest.mark.parametrize("image", [IMAGES[2], RECONCILE], ids=lambda s: s.name)
def test_release_refuses_a_missing_or_malformed_digest(broken: str, image: Service) -> None:
    env = {digest_variable(service): DIGEST for service in IMAGES}
    env[digest_variable(image)] = broken
    with pytest.raises(release.ReleaseError, match=digest_variable(image)):
        release.digests_from(env)


def test_release_assumes_the_stages_role_with_the_id_token_in_a_private_file(tmp_path: Path) -> None:
    env = {"AWS_ID_TOKEN": "header.payload.signature", "CI_PIPELINE_ID": "42", "CI_JOB_ID": "7"}
    variables = release.web_identity_environment(ENVIRONMENTS["staging"], env, tmp_path)
    assert variables["AWS_ROLE_ARN"] == "arn:aws:iam::111111111111:role/lovia-billing-staging-gitlab-deploy"
    token_file = Path(variables["AWS_WEB_IDENTITY_TOKEN_FILE"])
    assert token_file.read_text() == "header.payload.signature"
    assert token_file.stat().st_mode & 0o077 == 0
    assert variables["AWS_ROLE_SESSION_NAME"] == "gitlab-42-7"
    with pytest.raises(release.ReleaseError, match="id_tokens"):
        release.web_identity_environment(ENVIRONMENTS["staging"], {}, tmp_path)
