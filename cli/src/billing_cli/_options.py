"""Options shared by every command: ``--stage`` (``BILLING_STAGE``, else ``local``) and ``--json``."""

from __future__ import annotations

from typing import Annotated

import typer

from lovia_billing import Topology


def _valid_stage(value: str) -> str:
    try:
        Topology(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a stage name (letters, digits, '-')") from exc
    return value


StageOption = Annotated[
    str,
    typer.Option(
        "--stage",
        envvar="BILLING_STAGE",
        show_envvar=True,
        callback=_valid_stage,
        help="Stage whose queues and tables to use: local, staging, production.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")]
