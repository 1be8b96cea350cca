"""The run's report: a JSON document for scripts, and Markdown and HTML pages an accountant can read.

Pure rendering of a ``RunResult``; ``write_reports`` puts the three files side by side.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from billing_cli.reconcile._model import Action, Finding, Outcome, Window, XenditFacts
from lovia_billing import Integration

KIND_TEXT = {
    "missing_in_erpnext": "missing in ERPNext",
    "missing_in_chartmogul": "missing in ChartMogul",
    "missing_in_mautic": "missing in Mautic",
    "extra_in_erpnext": "in ERPNext, not at Xendit",
    "extra_in_chartmogul": "in ChartMogul, not at Xendit",
    "amount_differs": "amount differs",
    "status_differs": "status differs",
    "cancelled_in_erpnext": "cancelled in ERPNext",
}
ACTION_TEXT = {
    Action.REPAIR: "repaired through xendit_sync",
    Action.IN_FLIGHT: "on its way",
    Action.PERSON: "for a person",
}


@dataclass
class RunResult:
    """Everything one run found and did."""

    run_id: str
    stage: str
    window: Window
    integrations: tuple[Integration, ...]
    repair: bool
    started_at: datetime
    facts: XenditFacts
    findings: list[Finding]
    duration_seconds: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)
    rate_limit: dict[str, Any] = field(default_factory=dict)

    @property
    def agree(self) -> bool:
        return not self.findings

    @property
    def records(self) -> int:
        return self.facts.records

    def summary(self) -> dict[str, Any]:
        by_kind = Counter(f.difference.kind.value for f in self.findings)
        repaired = [f for f in self.findings if f.outcome in (Outcome.PUBLISHED, Outcome.ALREADY_PUBLISHED)]
        return {
            "differences": len(self.findings),
            "by_kind": dict(sorted(by_kind.items())),
            "repairable": sum(f.action is Action.REPAIR for f in self.findings),
            "repaired": len(repaired),
            "repair_events_published": len(
                {
                    f.difference.repair.event_id
                    for f in repaired
                    if f.outcome is Outcome.PUBLISHED and f.difference.repair is not None
                }
            ),
            "in_flight": sum(f.action is Action.IN_FLIGHT for f in self.findings),
            "left_for_a_person": sum(f.left_for_a_person for f in self.findings),
            "repair_failed": sum(f.outcome is Outcome.FAILED for f in self.findings),
        }

    def unrepaired(self) -> int:
        """What a person must look at: needs a person, a failed repair, or a repair not attempted."""
        return sum(
            f.left_for_a_person or (f.action is Action.REPAIR and f.outcome is Outcome.PLANNED)
            for f in self.findings
        )

    def request_figures(self) -> dict[str, Any]:
        total = sum(self.requests.values())
        return {
            "by_system": dict(sorted(self.requests.items())),
            "total": total,
            "records": self.records,
            "per_record": round(total / self.records, 3) if self.records else None,
        }


def finding_json(finding: Finding) -> dict[str, Any]:
    difference = finding.difference
    return {
        "kind": difference.kind.value,
        "integration": difference.integration.value,
        "record": difference.record,
        "key": difference.key,
        "customer_id": difference.customer_id or None,
        "invoice_id": difference.invoice_id,
        "xendit": dict(difference.xendit),
        "found": dict(difference.found) if difference.found is not None else None,
        "event": {"type": difference.event_type, "id": difference.event_id} if difference.event_id else None,
        "repair_event": (
            {"type": difference.repair.event_type.value, "id": difference.repair.event_id}
            if difference.repair is not None
            else None
        ),
        "action": finding.action.value,
        "reason": finding.reason,
        "outcome": finding.outcome.value if finding.outcome else None,
        "detail": finding.detail or None,
        "note": difference.note or None,
    }


def report_json(result: RunResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "stage": result.stage,
        "window": {
            "since": result.window.since.isoformat(),
            "until": result.window.until.isoformat(),
            "time_zone": result.window.time_zone,
        },
        "integrations": [i.value for i in result.integrations],
        "repair": result.repair,
        "started_at": result.started_at.isoformat(timespec="seconds"),
        "duration_seconds": round(result.duration_seconds, 3),
        "agree": result.agree,
        "xendit": {
            "payments": len(result.facts.payments),
            "refunds": len(result.facts.refunds),
            "expiries": len(result.facts.expiries),
            "invoices": len(result.facts.invoices),
            "not_ours_or_unreadable": result.facts.unreadable,
        },
        "summary": result.summary(),
        "requests": result.request_figures(),
        "xendit_rate_limit": result.rate_limit,
        "differences": [finding_json(f) for f in result.findings],
    }


def _values(values: dict[str, str] | None) -> str:
    if not values:
        return "—"
    return "; ".join(f"{key} {value}" for key, value in values.items())


def _title(result: RunResult) -> str:
    window = result.window
    return (
        f"Reconciliation {result.stage}: {window.since.isoformat()} to {window.until.isoformat()} "
        f"({window.time_zone})"
    )


def _verdict(result: RunResult) -> str:
    if result.agree:
        return "Xendit, ERPNext, ChartMogul and Mautic agree for this window."
    s = result.summary()
    return (
        f"{s['differences']} differences: {s['repaired']} repaired through xendit_sync, "
        f"{s['in_flight']} on their way, {s['left_for_a_person']} for a person."
    )


def report_markdown(result: RunResult) -> str:
    lines = [
        f"# {_title(result)}",
        "",
        _verdict(result),
        "",
        f"Xendit shows {len(result.facts.payments)} payments, {len(result.facts.refunds)} refunds and "
        f"{len(result.facts.expiries)} expiries in the window. Checked: "
        f"{', '.join(i.value for i in result.integrations)}. Run {result.run_id}, "
        f"{result.duration_seconds:.1f} s, {result.request_figures()['total']} API requests.",
        "",
    ]
    if result.findings:
        lines += [
            "| what | where | record | key | customer | Xendit | found | done |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for finding in result.findings:
            d = finding.difference
            cells = [
                KIND_TEXT[d.kind.value],
                d.integration.value,
                d.record,
                f"`{d.key}`",
                d.customer_id or "—",
                _values(dict(d.xendit)),
                _values(dict(d.found) if d.found is not None else None),
                f"{ACTION_TEXT[finding.action]}: {finding.reason}"
                + (f" ({finding.outcome.value})" if finding.outcome else ""),
            ]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.append("")
    if result.facts.unreadable:
        lines += ["Not ours, or not readable as ours:", ""]
        lines += [f"- {item}" for item in result.facts.unreadable]
        lines.append("")
    return "\n".join(lines)


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:14px}"
    "th{background:#f3f3f3}.person{background:#fff1f0}.repair{background:#f0fff4}"
    ".in_flight{background:#fffbe6}code{font-size:12px}"
)


def report_html(result: RunResult) -> str:
    e = html.escape
    rows = []
    for finding in result.findings:
        d = finding.difference
        outcome = f" ({finding.outcome.value})" if finding.outcome else ""
        rows.append(
            f'<tr class="{finding.action.value}"><td>{e(KIND_TEXT[d.kind.value])}</td>'
            f"<td>{e(d.integration.value)}</td><td>{e(d.record)}</td><td><code>{e(d.key)}</code></td>"
            f"<td>{e(d.customer_id or '—')}</td><td>{e(_values(dict(d.xendit)))}</td>"
            f"<td>{e(_values(dict(d.found) if d.found is not None else None))}</td>"
            f"<td><b>{e(ACTION_TEXT[finding.action])}</b>{e(outcome)}: {e(finding.reason)}</td></tr>"
        )
    table = (
        "<table><tr><th>what</th><th>where</th><th>record</th><th>key</th><th>customer</th>"
        "<th>Xendit</th><th>found</th><th>done</th></tr>" + "".join(rows) + "</table>"
        if rows
        else ""
    )
    unreadable = "".join(f"<li>{e(item)}</li>" for item in result.facts.unreadable)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(_title(result))}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{e(_title(result))}</h1><p>{e(_verdict(result))}</p>"
        f"<p>Xendit shows {len(result.facts.payments)} payments, {len(result.facts.refunds)} refunds and "
        f"{len(result.facts.expiries)} expiries in the window. Run {e(result.run_id)}.</p>{table}"
        + (f"<p>Not ours, or not readable as ours:</p><ul>{unreadable}</ul>" if unreadable else "")
        + "</body></html>"
    )


def write_reports(result: RunResult, directory: Path) -> list[Path]:
    """``reconcile-<stage>-<since>-<run id>.json``, ``.md`` and ``.html`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"reconcile-{result.stage}-{result.window.since.date().isoformat()}-{result.run_id}"
    paths = [directory / f"{stem}.{suffix}" for suffix in ("json", "md", "html")]
    paths[0].write_text(json.dumps(report_json(result), indent=2, sort_keys=True) + "\n")
    paths[1].write_text(report_markdown(result))
    paths[2].write_text(report_html(result))
    return paths
