"""docker-compose.yml: generated from the local stack's one definition, valid Compose."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from billing_cli.local_stack import components
from billing_infra import compose, dockerfile
from billing_infra.workspace import REPO_ROOT, tool


def test_committed_file_is_the_generated_one() -> None:
    assert compose.COMPOSE_FILE.read_text() == compose.render(), (
        "docker-compose.yml is stale: run `python -m billing_infra.compose`"
    )
    assert compose.main(["--check"]) == 0


def test_check_mode_reports_a_hand_edited_file(tmp_path: Path) -> None:
    edited = tmp_path / "docker-compose.yml"
    edited.write_text(compose.render().replace("4566", "4567"))
    assert compose.main(["--check", "--output", str(edited)]) == 1


def test_file_validates_against_the_compose_specification() -> None:
    # check-jsonschema vendors the Compose specification's schema (compose-spec/compose-spec).
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(compose.COMPOSE_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_component_runs_as_make_run_wires_it() -> None:
    services = yaml.safe_load(compose.COMPOSE_FILE.read_text())["services"]
    stack = components(host=lambda name: name)
    assert set(services) == {component.name for component in stack} | {"provision"}
    stages = dockerfile.parse(REPO_ROOT / "Dockerfile")
    for component in stack:
        spec = services[component.name]
        assert spec["command"] == list(component.command)
        assert spec.get("environment", {}) == component.env
        assert spec["build"]["target"] in stages
        if component.port:
            assert spec["ports"] == [f"127.0.0.1:{component.port}:{component.port}"]
        assert set(component.depends_on) <= set(spec.get("depends_on", {}))
        if "aws" in component.depends_on:
            assert spec["depends_on"]["provision"] == {"condition": "service_completed_successfully"}
    assert services["provision"]["environment"]["AWS_ENDPOINT_URL"] == "http://aws:4566"
