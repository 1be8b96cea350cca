"""Which sandboxes exist, where their code lives and on which local port each listens."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxSpec:
    name: str
    module: str  # exposes ``create_app() -> ASGI app``, configured from the environment
    port: int


SANDBOXES: dict[str, SandboxSpec] = {
    spec.name: spec
    for spec in (
        SandboxSpec("xendit", "billing_sandboxes.xendit", 4001),
        SandboxSpec("erpnext", "billing_sandboxes.erpnext", 4002),
        SandboxSpec("chartmogul", "billing_sandboxes.chartmogul", 4003),
        SandboxSpec("mautic", "billing_sandboxes.mautic", 4004),
    )
}
