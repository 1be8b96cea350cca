"""``billing``: the operators' command line (typer + rich).

Every command takes ``--stage``, honours ``AWS_ENDPOINT_URL``, and exits non-zero with one clear
line on error (``_errors.OneLineErrorGroup``). Subcommands live in one module each and are
registered here.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import typer

from billing_cli._errors import OneLineErrorGroup
from billing_cli.dev import dev
from billing_cli.dlq import dlq_app
from billing_cli.erpnext import erpnext_app
from billing_cli.events import events_app
from billing_cli.queues import EPILOG as QUEUES_EPILOG
from billing_cli.queues import queues
from billing_cli.reconcile import EPILOG as RECONCILE_EPILOG
from billing_cli.reconcile import reconcile

app = typer.Typer(
    name="billing",
    cls=OneLineErrorGroup,
    help=(
        "Lovia Billing operators' command line: queues, dead letters, redrive, replay, the ledger, "
        "reconciliation."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstring paragraphs reflowed to the terminal's width
    add_completion=False,
)
app.command(name="dev")(dev)
app.command(name="queues", epilog=QUEUES_EPILOG)(queues)
app.add_typer(dlq_app)
app.add_typer(events_app)
app.add_typer(erpnext_app)
app.command(name="reconcile", epilog=RECONCILE_EPILOG)(reconcile)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"billing {version('billing-cli')}")
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[  # handled by its eager callback
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Lovia Billing operators' command line. Every command takes --stage and honours AWS_ENDPOINT_URL."""


if __name__ == "__main__":
    app()
