"""One reconciliation run: read Xendit, read the books, compare, classify, and (``--repair``) publish.

The I/O of the run; every decision is made by the pure modules (``_compare``, ``_classify``).
Requests are counted per system by wrapping each client's transport, so a run can say what it cost
per record.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime

import httpx

from billing_cli.reconcile._books import ChartmogulReader, ErpnextReader, MauticReader, ledger_entries
from billing_cli.reconcile._classify import classify, identity, ledger_keys, second_look
from billing_cli.reconcile._compare import compare
from billing_cli.reconcile._model import Action, Books, Finding, Window
from billing_cli.reconcile._repair import repair as publish_repairs
from billing_cli.reconcile._report import RunResult
from billing_cli.reconcile._settings import ReconcileSettings
from billing_cli.reconcile._xendit import XenditReader
from lovia_billing import Integration, Topology
from lovia_billing.aws import open_aws_clients
from lovia_billing.clients.chartmogul import ChartMogulClient
from lovia_billing.clients.erpnext import ErpnextClient
from lovia_billing.clients.mautic import MauticClient
from lovia_billing.clients.xendit import RateLimitPacer, XenditClient
from lovia_billing.ledger import Ledger
from lovia_billing.publisher import Publisher

Tick = Callable[[str, int], None]
E, C, M = Integration.ERPNEXT, Integration.CHARTMOGUL, Integration.MAUTIC


def _never(_what: str, _count: int) -> None:
    return None


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts the requests one client sends (``counter[name]``), then sends them as usual."""

    def __init__(self, counter: Counter[str], name: str, inner: httpx.AsyncBaseTransport | None = None):
        self.counter = counter
        self.name = name
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.counter[self.name] += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def required_settings(integrations: tuple[Integration, ...]) -> list[str]:
    names = ["xendit_secret_key"]
    if E in integrations:
        names += ["erpnext_api_key", "erpnext_api_secret"]
    if C in integrations:
        names += ["chartmogul_api_key", "chartmogul_data_source_uuid"]
    return names


async def run(
    settings: ReconcileSettings,
    *,
    stage: str,
    window: Window,
    integrations: tuple[Integration, ...],
    repair: bool,
    tick: Tick = _never,
) -> RunResult:
    settings.require(*required_settings(integrations))
    mautic_auth = settings.mautic_auth() if M in integrations else None
    started, clock = datetime.now(UTC), time.monotonic()
    run_id = started.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
    topology = Topology(stage)
    requests: Counter[str] = Counter()
    pacer = RateLimitPacer(reserve=settings.reconcile_xendit_reserve)
    timeout = httpx.Timeout(settings.reconcile_timeout_seconds, connect=5.0)
    async with AsyncExitStack() as stack:
        xendit = await stack.enter_async_context(
            XenditClient(
                settings.xendit_base_url,
                settings.secret("xendit_secret_key"),
                timeout=timeout,
                pacer=pacer,
                transport=CountingTransport(requests, "xendit"),
            )
        )
        aws = await stack.enter_async_context(open_aws_clients(settings.aws_region))
        reader = XenditReader(
            xendit,
            window,
            page_size=settings.reconcile_page_size,
            lookback_days=settings.reconcile_lookback_days,
            tick=tick,
        )
        facts = await reader.read()
        books = Books()
        erpnext = chartmogul = mautic = None
        if E in integrations:
            client = ErpnextClient(
                settings.erpnext_base_url,
                settings.secret("erpnext_api_key"),
                settings.secret("erpnext_api_secret"),
                timeout=timeout,
                transport=CountingTransport(requests, "erpnext"),
            )
            erpnext = ErpnextReader(await stack.enter_async_context(client), tick)
        if C in integrations:
            cm_client = ChartMogulClient(
                settings.chartmogul_base_url,
                settings.secret("chartmogul_api_key"),
                timeout=timeout,
                transport=CountingTransport(
                    requests, "chartmogul", httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=10))
                ),
            )
            chartmogul = ChartmogulReader(
                await stack.enter_async_context(cm_client),
                settings.text("chartmogul_data_source_uuid"),
                concurrency=settings.reconcile_chartmogul_concurrency,
                per_second=settings.reconcile_chartmogul_per_second,
                tick=tick,
            )
        if mautic_auth is not None:
            m_client = MauticClient(
                settings.mautic_base_url,
                mautic_auth,
                timeout=timeout,
                transport=CountingTransport(requests, "mautic"),
            )
            mautic = MauticReader(
                await stack.enter_async_context(m_client),
                aws.dynamodb,
                topology.idempotency_table,
                settings.field_aliases,
                tick,
            )

        async def read_books(
            invoice_ids: set[str], payment_ids: set[str], refund_ids: set[str], customers: set[str]
        ) -> None:
            if erpnext is not None:
                await erpnext.read(
                    books,
                    invoice_ids=invoice_ids,
                    payment_ids=payment_ids,
                    refund_ids=refund_ids,
                    window=window,
                )
            if chartmogul is not None:
                await chartmogul.read(books, invoice_ids)
            if mautic is not None:
                await mautic.read(books, customers)

        async def look() -> list[Finding]:
            """Read the books, compare them with Xendit, classify with the ledger read after them."""
            nonlocal books
            books = Books()
            books_read_at = datetime.now(UTC)  # the ledger, read after the books, may be newer than them
            await read_books(facts.invoice_ids(), set(facts.payments), set(facts.refunds), facts.customers())
            # A payment the books hold but the lists did not show (an e-wallet charge or a fixed-VA
            # payment not bound to an invoice): asked of Xendit directly before it is called an extra.
            unknown = {key for key in _booked_keys(books, window) if not facts.knows(key)}
            confirmed = {key for key in sorted(unknown) if await reader.confirm(key)}
            if any(key in facts.payments for key in confirmed):  # rare: read again with them
                books = Books()
                books_read_at = datetime.now(UTC)
                await read_books(
                    facts.invoice_ids(), set(facts.payments), set(facts.refunds), facts.customers()
                )
            differences = compare(facts, books, window, integrations)
            ledger, ledger_requests = await ledger_entries(
                aws.dynamodb, topology.ledger_table, ledger_keys(differences)
            )
            requests["aws"] += ledger_requests
            return classify(differences, ledger, books_read_at)

        findings = await look()
        if any(f.action is Action.PERSON for f in findings):
            # A record read while its consumer was writing it (a draft not yet submitted, a contact
            # not yet tagged) looks like drift for a moment. Look again; drift is what both show.
            await asyncio.sleep(settings.reconcile_second_look_seconds)
            first = {identity(f) for f in findings if f.action is Action.PERSON}
            findings = [second_look(f, first) for f in await look()]
        requests["aws"] += mautic.aws_requests if mautic is not None else 0
        if repair:
            ledger_store = Ledger(aws.dynamodb, topology.ledger_table)
            publisher = Publisher(aws.sqs, topology, ledger_store)
            await publish_repairs(
                findings, publisher, ledger_store, correlation_id=f"reconcile-{run_id}", tick=tick
            )
    return RunResult(
        run_id=run_id,
        stage=stage,
        window=window,
        integrations=integrations,
        repair=repair,
        started_at=started,
        facts=facts,
        findings=findings,
        duration_seconds=time.monotonic() - clock,
        requests=requests,
        rate_limit={
            "requests": pacer.total_requests,
            "throttled": sum(pacer.throttled.values()),
            "waited_seconds": round(pacer.waited_seconds, 3),
            "by_endpoint": dict(sorted(pacer.requests.items())),
        },
    )


def _booked_keys(books: Books, window: Window) -> set[str]:
    """Xendit ids the books hold for the window: dated ERPNext entries, ChartMogul transactions."""
    keys = set(books.erpnext.dated_in_window)
    for invoice in books.chartmogul.values():
        keys |= {
            t.external_id
            for t in invoice.transactions
            if t.external_id and t.result == "successful" and window.contains(t.date)
        }
    return keys
