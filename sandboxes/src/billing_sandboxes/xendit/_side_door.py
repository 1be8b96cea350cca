"""The product-independent side door: state, reset, run-time config, the callback log and outbox."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath
from pydantic import BaseModel, ConfigDict, Field

from billing_sandboxes.xendit._callbacks import Order
from billing_sandboxes.xendit._core import XenditSandbox
from billing_sandboxes.xendit._errors import XenditApiError
from billing_sandboxes.xendit._http import AnyRequest, json_response, parse, read_json


class Release(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order: Order = "fifo"


class ConfigChange(BaseModel):
    """What may change at run time through ``POST /_sandbox/config``."""

    model_config = ConfigDict(extra="forbid")
    callback_url: str | None = None
    callback_base_url: str | None = None
    callback_token: str | None = None
    callbacks_enabled: bool | None = None
    hold_refunds: bool | None = None
    duplicates: int | None = Field(default=None, ge=0, le=20)
    shuffle: bool | None = None
    time_scale: float | None = Field(default=None, gt=0)
    callback_timeout_seconds: float | None = Field(default=None, gt=0)
    rate_limit: int | None = Field(default=None, ge=1)
    rate_limit_window_seconds: float | None = Field(default=None, gt=0)


def side_door_routes(sandbox: XenditSandbox) -> list[Any]:
    @get("/_sandbox/state")
    async def state() -> Response[bytes]:
        return json_response(sandbox.state())

    @post("/_sandbox/reset", status_code=200)
    async def reset() -> Response[bytes]:
        sandbox.reset()
        return json_response({"reset": True})

    @post("/_sandbox/config", status_code=200)
    async def configure(request: AnyRequest) -> Response[bytes]:
        change: ConfigChange = parse(ConfigChange, await read_json(request))
        sandbox.reconfigure(change.model_dump(exclude_unset=True))
        return json_response(sandbox.state()["config"])

    @get("/_sandbox/callbacks")
    async def callbacks(request: AnyRequest) -> Response[bytes]:
        query = request.query_params
        names = ("invoice_id", "object_id", "product", "event", "webhook_id")
        return json_response(sandbox.callbacks.log(**{name: query.get(name) for name in names}))

    @post("/_sandbox/callbacks/{delivery_id:str}/resend", status_code=200)
    async def resend(delivery_id: FromPath[str]) -> Response[bytes]:
        delivery = sandbox.callbacks.resend(delivery_id)
        if delivery is None:
            raise XenditApiError(404, "DATA_NOT_FOUND", f"callback delivery {delivery_id} not found")
        return json_response(delivery.as_json())

    @post("/_sandbox/callbacks/release", status_code=200)
    async def release(request: AnyRequest) -> Response[bytes]:
        order: Release = parse(Release, await read_json(request))
        return json_response([d.id for d in sandbox.callbacks.release(order.order)])

    return [state, reset, configure, callbacks, resend, release]
