"""What a resolver reaches through ``info.context``: the ingest's services and the request."""

from __future__ import annotations

from typing import Any

import strawberry
from litestar.datastructures import State

from ingest.lookup import Lookup
from ingest.routes._accept import request_id
from ingest.services import Services


async def graphql_context(state: State) -> dict[str, Any]:
    """The context of one GraphQL request (a Litestar dependency; the request is already authorised).

    Strawberry adds the ``request`` to it.
    """
    services: Services = state.services
    return {"services": services, "lookup": Lookup(services)}


def services_of(info: strawberry.Info[Any, Any]) -> Services:
    services: Services = info.context["services"]
    return services


def lookup_of(info: strawberry.Info[Any, Any]) -> Lookup:
    lookup: Lookup = info.context["lookup"]
    return lookup


def correlation_id_of(info: strawberry.Info[Any, Any]) -> str:
    """The request's id (``x-request-id``), which REST uses as the correlation id too."""
    return request_id(info.context["request"])
