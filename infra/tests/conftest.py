"""Session-wide set-up of the deploy tests."""

from __future__ import annotations

import os

import pytest

from billing_infra.synth import Synthesis, synthesize

# jsii (the CDK's JavaScript runtime) warns about Node 20 on every start; the CDK still works.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """Both stacks, synthesized once for the whole session (about 10 s)."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"))
