"""``billing reconcile``: prove that Xendit, ERPNext, ChartMogul and Mautic agree, and repair drift.

Exit 0 when the books agree, 1 when drift is found (repaired or not), 2 on error (bad arguments,
missing settings, an API or AWS that cannot be read). A progress bar on a terminal (none with
``--json``), a summary table, and a JSON, Markdown and HTML report in ``--report-dir``.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfoNotFoundError

import httpx
import typer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from billing_cli._errors import aws_error_message
from billing_cli._options import JsonOption, StageOption
from billing_cli._output import print_json
from billing_cli.reconcile._model import BOOKS, Action, Outcome
from billing_cli.reconcile._report import ACTION_TEXT, KIND_TEXT, RunResult, report_json, write_reports
from billing_cli.reconcile._run import run
from billing_cli.reconcile._settings import ReconcileSettings
from billing_cli.reconcile._window import make_window
from lovia_billing import BillingError, Integration

EXIT_AGREE, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2
#: The CloudWatch metrics ``--metrics`` prints (EMF), read by the alarms in ``billing_infra.reconcile``.
NAMESPACE = "LoviaBilling"
METRIC_RUNS = "reconcile_runs"
METRIC_DRIFT = "reconcile_drift_found"
METRIC_UNREPAIRED = "reconcile_unrepaired"
EPILOG = (
    "Examples: billing reconcile --since yesterday --repair   |   "
    "billing reconcile --since 2026-11-01 --until 2026-11-08 --integration erpnext --json"
)


class Book(StrEnum):
    """The systems compared with Xendit."""

    ERPNEXT = "erpnext"
    CHARTMOGUL = "chartmogul"
    MAUTIC = "mautic"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {' '.join(message.split())[:500]}", err=True)
    return typer.Exit(EXIT_ERROR)


class _Progress:
    """One line per source on a terminal (records read so far); nothing when quiet."""

    def __init__(self, quiet: bool) -> None:
        console = Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<26}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=quiet or not console.is_terminal,
        )
        self.tasks: dict[str, TaskID] = {}

    def tick(self, what: str, count: int) -> None:
        if what not in self.tasks:
            self.tasks[what] = self.progress.add_task(what, total=None)
        self.progress.advance(self.tasks[what], count)


def summary_table(result: RunResult) -> Table:
    title = "Xendit, ERPNext, ChartMogul and Mautic agree" if result.agree else "Drift found"
    table = Table(title=f"{title} ({result.window.since.date()} to {result.window.until.date()})")
    for column in ("what", "where", "found", "repaired", "on its way", "for a person"):
        table.add_column(column, justify="left" if column in ("what", "where") else "right")
    groups: Counter[tuple[str, str]] = Counter()
    repaired: Counter[tuple[str, str]] = Counter()
    moving: Counter[tuple[str, str]] = Counter()
    person: Counter[tuple[str, str]] = Counter()
    for finding in result.findings:
        key = (KIND_TEXT[finding.difference.kind.value], finding.difference.integration.value)
        groups[key] += 1
        repaired[key] += finding.outcome in (Outcome.PUBLISHED, Outcome.ALREADY_PUBLISHED)
        moving[key] += finding.action is Action.IN_FLIGHT
        person[key] += finding.left_for_a_person or finding.outcome is Outcome.PLANNED
    for key in sorted(groups):
        style = "red" if person[key] else None
        table.add_row(
            *key, str(groups[key]), str(repaired[key]), str(moving[key]), str(person[key]), style=style
        )
    figures = result.request_figures()
    table.caption = (
        f"Xendit: {len(result.facts.payments)} payments, {len(result.facts.refunds)} refunds, "
        f"{len(result.facts.expiries)} expiries · {figures['total']} requests "
        f"({figures['per_record'] if figures['per_record'] is not None else '-'} per record) · "
        f"{result.duration_seconds:.1f} s"
    )
    return table


def _details(console: Console, result: RunResult) -> None:
    for finding in result.findings:
        d = finding.difference
        outcome = f" [{finding.outcome.value}]" if finding.outcome else ""
        console.print(
            f"- {KIND_TEXT[d.kind.value]}: {d.integration.value} {d.record} {d.key} "
            f"(customer {d.customer_id or '-'}) — {ACTION_TEXT[finding.action]}{outcome}: {finding.reason}",
            soft_wrap=True,
        )


def emit_metrics(result: RunResult) -> None:
    """One CloudWatch EMF document on stdout (the task's log group turns it into metrics)."""
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    provider = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, default_dimensions={"stage": result.stage})
    summary = result.summary()
    provider.add_metric(name=METRIC_RUNS, unit=MetricUnit.Count, value=1)
    provider.add_metric(name=METRIC_DRIFT, unit=MetricUnit.Count, value=summary["differences"])
    provider.add_metric(name=METRIC_UNREPAIRED, unit=MetricUnit.Count, value=result.unrepaired())
    provider.add_metric(name="reconcile_repaired", unit=MetricUnit.Count, value=summary["repaired"])
    provider.add_metric(name="reconcile_records", unit=MetricUnit.Count, value=result.records)
    provider.add_metric(name="reconcile_duration", unit=MetricUnit.Seconds, value=result.duration_seconds)
    provider.flush_metrics()


def reconcile(
    since: Annotated[
        str,
        typer.Option(
            "--since", help="First day (or moment) checked: today, yesterday, YYYY-MM-DD, ISO time."
        ),
    ] = "yesterday",
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="End of the window, excluded (default: the end of today).", show_default=False
        ),
    ] = None,
    integration: Annotated[
        list[Book] | None,
        typer.Option(
            "--integration", help="Compare Xendit with this one only (repeatable). Default: all three."
        ),
    ] = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help=(
                "Publish the missed callback events (same event ids) for xendit_sync to confirm: the books "
                "are then written by their consumers. Never writes downstream itself; amounts that differ, "
                "cancelled documents and extras are left for a person."
            ),
        ),
    ] = False,
    report_dir: Annotated[
        Path, typer.Option("--report-dir", help="Where the JSON, Markdown and HTML report go.")
    ] = Path("reconcile-reports"),
    metrics: Annotated[
        bool, typer.Option("--metrics", help="Also print CloudWatch EMF metrics (the scheduled task does).")
    ] = False,
    stage: StageOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Compare what Xendit shows for a window with ERPNext, ChartMogul and Mautic, and report each
    difference (missing, extra, amount or status differs, cancelled by hand) with both sides' values
    and the event that should have produced it.

    Exit 0 when the books agree, 1 when drift is found, 2 on error. Settings: the consumers' own
    (XENDIT_*, ERPNEXT_*, CHARTMOGUL_*, MAUTIC_*) and RECONCILE_* (docs/operations.md).
    """
    picked = [Integration(book.value) for book in dict.fromkeys(integration or [])]
    chosen: tuple[Integration, ...] = tuple(picked) if picked else BOOKS
    try:
        settings = ReconcileSettings()
        window = make_window(since, until, settings.reconcile_time_zone, datetime.now(UTC))
    except ValidationError as exc:
        problems = "; ".join(f"{str(e['loc'][0]).upper()} ({e['msg']})" for e in exc.errors())
        raise _fail(f"invalid setting: {problems}") from None
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise _fail(str(exc)) from None
    progress = _Progress(quiet=as_json)
    try:
        with progress.progress:
            result = asyncio.run(
                run(
                    settings,
                    stage=stage,
                    window=window,
                    integrations=chosen,
                    repair=repair,
                    tick=progress.tick,
                )
            )
    except (BillingError, httpx.HTTPError, OSError) as exc:
        raise _fail(f"{type(exc).__name__}: {exc}") from None
    except (BotoCoreError, ClientError) as exc:
        raise _fail(aws_error_message(exc)) from None
    paths = write_reports(result, report_dir)
    if as_json:
        print_json({**report_json(result), "reports": [str(p) for p in paths]})
    else:
        console = Console(highlight=False)
        console.print(summary_table(result))
        _details(console, result)
        console.print(f"report: {paths[2]} (and .json, .md)")
    if metrics:
        sys.stdout.flush()
        emit_metrics(result)
    raise typer.Exit(EXIT_AGREE if result.agree else EXIT_DRIFT)
