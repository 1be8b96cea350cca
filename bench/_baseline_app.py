"""The ingest's CPU baseline: a bare Litestar handler that validates the same callback body with
the ingest's own model and makes one SendMessage (aiobotocore, the services' client config).

    python bench/_baseline_app.py --port P --queue-url URL

Served like the ingest: uvicorn, one worker, no access log. No token check, no ledger, no logging:
the least any handler must do to take the callback and queue it.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from aiobotocore.session import get_session
from litestar import Litestar, post

from ingest.models.xendit import InvoiceCallback
from lovia_billing.aws import client_config


def create_app(queue_url: str, region: str) -> Litestar:
    clients: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        async with get_session().create_client("sqs", region_name=region, config=client_config()) as sqs:
            clients["sqs"] = sqs
            yield

    @post("/webhooks/xendit/invoice", status_code=200)
    async def invoice(data: InvoiceCallback) -> dict[str, str]:
        await clients["sqs"].send_message(
            QueueUrl=queue_url, MessageBody=data.model_dump_json(), MessageGroupId=data.external_id
        )
        return {"status": "queued"}

    return Litestar(route_handlers=[invoice], lifespan=[lifespan], openapi_config=None, debug=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--region", default="ap-southeast-1")
    args = parser.parse_args()
    app = create_app(args.queue_url, args.region)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
