"""``/graphql`` on the ingest: strawberry's Litestar controller behind the ``/v1`` API keys.

Every query and mutation needs ``Authorization: Bearer <key>`` (401 without, as on ``/v1``). Only
GraphiQL's page and its files are served without a key: they hold no data. ``GRAPHQL_IDE=false``
turns GraphiQL off; ``GRAPHQL_INTROSPECTION=false`` refuses introspection queries.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler
from strawberry.litestar import make_graphql_controller

from ingest.graphql.context import graphql_context
from ingest.graphql.ide import ASSETS_PATH, PAGE, STATIC_DIRECTORY
from ingest.graphql.schema import build_schema
from ingest.security import require_api_key
from lovia_billing import IngestSettings

PATH = "/graphql"


def _wants_ide(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """The request strawberry answers with the IDE page (its own test): a GET for HTML, no query."""
    accept = connection.headers.get("accept", "")
    return (
        connection.scope.get("method") == "GET"
        and "query" not in connection.query_params
        and ("text/html" in accept or "*/*" in accept)
    )


async def require_key_except_ide(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    if _wants_ide(connection) and connection.app.state.services.settings.graphql_ide:
        return
    await require_api_key(connection, handler)


def graphql_routes(settings: IngestSettings) -> list[ControllerRouterHandler]:
    """The GraphQL controller (and GraphiQL's files when the IDE is on), for ``Litestar(route_handlers=)``."""
    base = make_graphql_controller(
        build_schema(introspection=settings.graphql_introspection),
        path=PATH,
        graphql_ide="graphiql" if settings.graphql_ide else None,
        allow_queries_via_get=True,
        context_getter=graphql_context,
    )

    class GraphQLController(base):  # type: ignore[valid-type,misc]
        guards = [require_key_except_ide]
        include_in_schema = False  # the OpenAPI document is the REST API's; this one is docs/schema.graphql

        async def render_graphql_ide(self, request: Request[Any, Any, Any]) -> Response[str]:  # noqa: ARG002
            return Response(PAGE, media_type=MediaType.HTML)

    routes: list[ControllerRouterHandler] = [GraphQLController]
    if settings.graphql_ide:
        routes.append(
            create_static_files_router(
                path=ASSETS_PATH,
                directories=[STATIC_DIRECTORY],
                include_in_schema=False,
                name="graphiql-assets",
            )
        )
    return routes
