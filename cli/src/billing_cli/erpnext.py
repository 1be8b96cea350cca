"""``billing erpnext setup``: create or fix the custom fields Lovia Billing needs in ERPNext.

The site and credentials come from the same environment variables as erpnext_sync's
(``ERPNEXT_BASE_URL``, ``ERPNEXT_API_KEY``, ``ERPNEXT_API_SECRET``); the command line does not import
the service (deployables are never imported), so it reads just these three itself.
"""

from __future__ import annotations

import asyncio

import httpx
import typer
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.table import Table

from billing_cli._errors import OperatorError
from billing_cli._options import JsonOption
from billing_cli._output import console, print_json
from lovia_billing import BillingError
from lovia_billing.clients.erpnext import ErpnextClient, ensure_custom_fields

erpnext_app = typer.Typer(name="erpnext", help="ERPNext site set-up.", no_args_is_help=True)


class ErpnextSiteSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    erpnext_base_url: str = Field(default="http://127.0.0.1:4002")
    erpnext_api_key: SecretStr
    erpnext_api_secret: SecretStr
    erpnext_timeout_seconds: float = Field(default=30.0, gt=0)


def _settings() -> ErpnextSiteSettings:
    try:
        return ErpnextSiteSettings()  # every field from the environment
    except ValidationError as exc:
        names = ", ".join(str(error["loc"][0]).upper() for error in exc.errors())
        raise OperatorError(f"missing or invalid setting: {names}") from None


async def _setup(settings: ErpnextSiteSettings) -> dict[str, str]:
    client = ErpnextClient(
        settings.erpnext_base_url,
        settings.erpnext_api_key,
        settings.erpnext_api_secret,
        timeout=httpx.Timeout(settings.erpnext_timeout_seconds, connect=3.0),
    )
    async with client:
        try:
            return dict(await ensure_custom_fields(client))
        except (BillingError, httpx.HTTPError) as exc:
            raise OperatorError(f"ERPNext at {settings.erpnext_base_url}: {exc}") from exc


@erpnext_app.command(
    "setup",
    epilog=(
        "Example: ERPNEXT_BASE_URL=https://erp.lovia.id ERPNEXT_API_KEY=... ERPNEXT_API_SECRET=..."
        " billing erpnext setup"
    ),
)
def setup(as_json: JsonOption = False) -> None:
    """Create the custom fields (Lovia customer, invoice, subscription and Xendit ids) that are missing.

    Idempotent: fields already right are left alone, fields with the wrong type or flags are fixed.
    Needs an API user with the System Manager role. Settings: ERPNEXT_BASE_URL, ERPNEXT_API_KEY,
    ERPNEXT_API_SECRET (never printed).
    """
    outcomes = asyncio.run(_setup(_settings()))
    if as_json:
        print_json(outcomes)
        return
    table = Table(title="ERPNext custom fields")
    table.add_column("field")
    table.add_column("outcome")
    for name, outcome in outcomes.items():
        table.add_row(name, outcome)
    console.print(table)
