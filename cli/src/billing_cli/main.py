"""``billing``: the operators' command line (typer + rich).

Every command takes ``--stage``, honours ``AWS_ENDPOINT_URL``, and exits non-zero with one clear
line on error. Subcommands live in one module each and are registered here.
"""

from __future__ import annotations

import typer

from billing_cli.dev import dev

app = typer.Typer(
    name="billing",
    help="Lovia Billing operators' command line: queues, dead letters, redrive, replay, the ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command(name="dev")(dev)


@app.callback()
def main() -> None:
    """Lovia Billing operators' command line. Every command takes --stage and honours AWS_ENDPOINT_URL."""


if __name__ == "__main__":
    app()
