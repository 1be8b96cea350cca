"""Synthesize the app offline and collect what the checks need: templates, cdk-nag's findings.

    python -m billing_infra.synth [OUTDIR]   # exit 1 on a cdk-nag finding or a missing context

No AWS account, credentials or look-ups: every stack's account, region and zones are fixed. A
construct that needs a look-up records it as ``missing`` in the cloud assembly's manifest, and the
CDK CLI would then call AWS (and fail without credentials): the checks refuse any such entry.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billing_infra.app import build_app
from billing_infra.environments import ENVIRONMENTS

REPORT_CONTEXT = {"@aws-cdk/core:validationReportJson": True}


@dataclass(frozen=True)
class Synthesis:
    outdir: Path
    templates: dict[str, dict[str, Any]]  # by stage
    template_files: dict[str, Path]
    violations: list[dict[str, Any]]  # unacknowledged cdk-nag findings
    acknowledged: dict[str, dict[str, str]]  # construct path -> {rule: reason}
    missing: list[dict[str, Any]]  # context look-ups the CLI would have to make with credentials


def synthesize(outdir: Path) -> Synthesis:
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    app = build_app(outdir, dict(REPORT_CONTEXT))
    try:
        app.synth()
    except RuntimeError as exc:  # policy validation failed: the findings are in the report below
        if "ValidationFailed" not in str(exc):
            raise
    report = json.loads((outdir / "policy-validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin["violations"]]
    acknowledged = {
        construct.node.path: dict(entry.data)
        for construct in app.node.find_all()
        for entry in construct.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
    }
    files = {stage: outdir / f"{env.stack_name}.template.json" for stage, env in ENVIRONMENTS.items()}
    templates = {stage: json.loads(path.read_text()) for stage, path in files.items()}
    missing = json.loads((outdir / "manifest.json").read_text()).get("missing", [])
    return Synthesis(outdir, templates, files, violations, acknowledged, missing)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    synthesis = synthesize(Path(args[0] if args else "cdk.out").resolve())
    for violation in synthesis.violations:
        paths = [resource["constructPath"] for resource in violation["violatingResources"]]
        print(f"{violation['ruleName']}: {violation['description']} {paths}", file=sys.stderr)
    for entry in synthesis.missing:
        print(f"missing context (needs AWS credentials): {entry['key']}", file=sys.stderr)
    return 1 if synthesis.violations or synthesis.missing else 0


if __name__ == "__main__":
    sys.exit(main())
