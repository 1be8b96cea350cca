"""Lets the tests here import ``mautic_events`` (pytest runs with ``--import-mode=importlib``), and
gives them a stage with just its tables on the moto stand-in (mautic_sync needs no queue here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lovia_billing.provision import ensure_tables
from lovia_billing.topology import Topology

sys.path.insert(0, str(Path(__file__).parent))

REGION = "ap-southeast-1"


@pytest.fixture
def tables(aws_endpoint: str, stage: str) -> Topology:  # aws_endpoint: the stand-in must be up
    """A fresh stage whose ledger and idempotency tables exist (its queues do not)."""
    topology = Topology(stage)
    ensure_tables(topology, region=REGION)
    return topology
