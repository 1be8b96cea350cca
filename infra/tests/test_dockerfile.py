"""The Dockerfile: lint, one target per service, and its build steps replayed outside Docker.

There is no Docker engine here, so the build stages' ``COPY`` and ``uv sync`` steps are run for real
in a temporary directory (offline, from uv's cache): this proves the deps-only layer resolves from the
manifests alone, that each image gets only its own package's dependencies, and that the command the
image runs is installed.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from billing_infra import dockerfile
from billing_infra.services import (
    CONSUMER_HEALTHCHECK,
    CONSUMERS,
    DEPLOYED,
    INGEST,
    INGEST_HEALTHCHECK,
    RECONCILE,
    SANDBOXES,
    Service,
)
from billing_infra.workspace import REPO_ROOT as ROOT
from billing_infra.workspace import tool

DOCKERFILE = ROOT / "Dockerfile"
STAGES = dockerfile.parse(DOCKERFILE)
IGNORED = shutil.ignore_patterns(".venv", "__pycache__", "*.pyc", "tests", ".mypy_cache", "cdk.out")


def workspace_members() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["uv"]["workspace"]["members"]
    found = {
        Path(path).relative_to(ROOT).as_posix()
        for pattern in patterns
        for path in glob.glob(str(ROOT / pattern))
        if (Path(path) / "pyproject.toml").exists()
    }
    return sorted(found)


def in_lineage(target: str, keyword: str) -> list[str]:
    return [arg for stage in dockerfile.lineage(STAGES, target) for arg in stage.args(keyword)]


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--config", str(ROOT / ".hadolint.yaml"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_stage_copies_every_workspace_manifest() -> None:
    copied = {arg.split()[0].removesuffix("/pyproject.toml") for arg in STAGES["build"].args("COPY")}
    missing = [member for member in workspace_members() if member not in copied]
    assert not missing, f"uv --locked needs these manifests in the deps layer: {missing}"
    assert "pyproject.toml" in copied


@pytest.mark.parametrize("service", [*DEPLOYED, RECONCILE, SANDBOXES], ids=lambda s: s.name)
def test_each_service_has_a_target_that_installs_only_its_package(service: Service) -> None:
    build = STAGES[f"{service.name}-build"]
    assert build.base == "build"
    runs = build.args("RUN")
    first_source_copy = next(i for i, (kw, _) in enumerate(build.instructions) if kw == "COPY")
    first_run = next(i for i, (kw, _) in enumerate(build.instructions) if kw == "RUN")
    assert first_run < first_source_copy, "dependencies must be installed before the source is copied"
    assert "--no-install-workspace" in runs[0]
    for run in runs:
        assert {"--locked", "--no-dev", f"--package={service.package}"} <= set(run.split())
    assert f"{service.name}-build" in STAGES[service.name].args("COPY")[0]


@pytest.mark.parametrize("service", DEPLOYED, ids=lambda s: s.name)
def test_deployed_images_run_as_non_root_with_curl_a_healthcheck_and_sigterm(service: Service) -> None:
    users = in_lineage(service.name, "USER")
    assert users, "no USER: the image would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert in_lineage(service.name, "STOPSIGNAL") == ["SIGTERM"]
    assert any("install" in run and "curl" in run for run in in_lineage(service.name, "RUN"))
    healthcheck = in_lineage(service.name, "HEALTHCHECK")[-1]
    expected = CONSUMER_HEALTHCHECK.split() if service.is_consumer else ["sh", "-c", INGEST_HEALTHCHECK]
    assert json.loads(healthcheck.partition(" CMD ")[2]) == expected
    assert in_lineage(service.name, "CMD")[-1] == f'["{service.script}"]'
    assert not [env for env in in_lineage(service.name, "ENV") if "SECRET" in env or "KEY" in env]


def test_reconcile_image_runs_the_daily_reconciliation_as_non_root_without_a_healthcheck() -> None:
    users = in_lineage(RECONCILE.name, "USER")
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert in_lineage(RECONCILE.name, "HEALTHCHECK") == []  # a task that exits, not a service
    command = json.loads(in_lineage(RECONCILE.name, "CMD")[-1])
    assert command[:2] == ["billing", "reconcile"]
    assert {"--repair", "--metrics"} <= set(command)


def replay_build(service: Service, workdir: Path) -> Path:
    """Run the target's build stages (``COPY`` and ``uv sync``) in ``workdir``; return the venv."""
    venv = workdir / "venv"
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_OFFLINE": "1",
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    src = workdir / "src"
    src.mkdir()
    for stage in dockerfile.lineage(STAGES, f"{service.name}-build"):
        for keyword, arguments in stage.instructions:
            if keyword == "COPY" and not arguments.startswith("--from"):
                *sources, dest = arguments.split()
                for source in sources:
                    if (ROOT / source).is_dir():
                        shutil.copytree(ROOT / source, src / dest, ignore=IGNORED, dirs_exist_ok=True)
                    else:  # in this Dockerfile a file is always copied into a directory
                        (src / dest).mkdir(parents=True, exist_ok=True)
                        shutil.copy2(ROOT / source, src / dest)
            elif keyword == "RUN":
                command = shlex.split(arguments)
                assert command[:2] == ["uv", "sync"], f"cannot replay {arguments!r} outside Docker"
                result = subprocess.run(
                    [tool("uv"), *command[1:]], cwd=src, env=env, capture_output=True, text=True, check=False
                )
                assert result.returncode == 0, f"{arguments}\n{result.stderr}"
    return venv


@pytest.mark.parametrize("service", [*DEPLOYED, RECONCILE, SANDBOXES], ids=lambda s: s.name)
def test_image_build_installs_the_entry_command_and_only_its_dependencies(
    service: Service, tmp_path: Path
) -> None:
    venv = replay_build(service, tmp_path)
    assert (venv / "bin" / service.script).exists(), f"{service.script} is not installed in the image"
    site = next((venv / "lib").glob("python3*/site-packages"))
    installed = {path.name.split("-")[0].lower() for path in site.glob("*.dist-info")}
    assert "pytest" not in installed, "dev dependencies leaked into the image"
    if service in CONSUMERS:
        assert "litestar" not in installed, "a consumer image carries the ingest's web framework"
    if service is INGEST:
        assert {"litestar", "uvicorn", "lovia_billing_shared"} <= installed
    if service is RECONCILE:  # the command line alone: no web framework, no stand-in, no sandboxes
        assert {"typer", "rich", "lovia_billing_shared", "billing_cli"} <= installed
        assert not {"litestar", "moto", "billing_sandboxes", "uvicorn"} & installed
