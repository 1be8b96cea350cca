"""The ingest's OpenAPI document, as the code states it.

Litestar builds the paths; the schemas of the bodies are the pydantic models' own JSON schemas
(``model_json_schema``: their docstrings, field descriptions, patterns, bounds and examples, which
Litestar's own schema generation drops). Every operation has a name (``requestInvoice``,
``xenditFvaCallback``) and documents 500 besides its own errors; ``servers`` is where this stage is
reached (``PUBLIC_BASE_URL``). The document is served at ``/schema/openapi.json``; the Swagger UI
(``/schema``) only in local runs, pinned to one release, since it loads its script from a CDN:
staging and production serve the document alone.
"""

from __future__ import annotations

import copy
import re
import typing
from collections.abc import Iterator
from typing import Any, Final

from litestar import Litestar, Request
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Server
from litestar.routes import HTTPRoute
from litestar.serialization import encode_json
from litestar.types import Method
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from ingest.errors import ErrorResponse
from lovia_billing import IngestSettings

REF_TEMPLATE: Final = "#/components/schemas/{model}"
#: Swagger UI's release for local runs (its script comes from a CDN; never "latest").
SWAGGER_UI_VERSION: Final = "5.18.2"
INTERNAL_ERROR: Final = "an unexpected error; nothing was queued (the request can be retried)"
_WEBHOOK_PREFIX: Final = "/webhooks/xendit"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def operation_id(route_handler: HTTPRouteHandler, http_method: Method, path_components: list[Any]) -> str:
    """``requestInvoice``, ``eventStatus``, ``xenditInvoiceCallback``: the handler's own name."""
    del http_method  # one handler per method and path here, so the name is enough
    name = _camel(route_handler.handler_name)
    path = "/" + "/".join(str(part) for part in path_components if isinstance(part, str))
    if path.startswith(_WEBHOOK_PREFIX):
        return "xendit" + name[0].upper() + name[1:] + "Callback"
    return name


def servers(settings: IngestSettings) -> list[Server]:
    return [Server(url=settings.public_url, description=f"Lovia Billing ingest ({settings.billing_stage})")]


def openapi_config(settings: IngestSettings) -> OpenAPIConfig:
    plugins: list[OpenAPIRenderPlugin] = [OpenAPIDocument()]
    if settings.billing_stage == "local":
        plugins.append(SwaggerRenderPlugin(version=SWAGGER_UI_VERSION, path="/", favicon=""))
    return OpenAPIConfig(
        title="Lovia Billing ingest",
        version="1.0.0",
        description=(
            "Xendit webhooks and Lovia's internal /v1 API, validated and queued on SQS FIFO. Every error "
            'is JSON: `{"error": {"status", "code", "message", "details"}}`; a refused request queues '
            "nothing."
        ),
        path="/schema",
        servers=servers(settings),
        use_handler_docstrings=True,
        operation_id_creator=operation_id,
        render_plugins=plugins,
        components=Components(
            security_schemes={
                "BearerAuth": SecurityScheme(type="http", scheme="bearer", description="API key"),
                "XenditCallbackToken": SecurityScheme(
                    type="apiKey",
                    name="x-callback-token",
                    security_scheme_in="header",
                    description="the callback verification token from Xendit's dashboard",
                ),
            }
        ),
    )


class OpenAPIDocument(JsonRenderPlugin):
    """``/schema/openapi.json``: Litestar's document, finished with the models' own schemas."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json")
        self._rendered: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:  # the app's routes never change once it is built
            self._rendered = encode_json(finish(openapi_schema, request.app))
        return self._rendered


def finish(document: dict[str, Any], app: Litestar) -> dict[str, Any]:
    """The document with pydantic's schemas for the models and 500 on every operation."""
    finished = copy.deepcopy(document)
    components = finished.setdefault("components", {}).setdefault("schemas", {})
    used = body_models(app)
    if used:
        refs, schemas = models_json_schema(
            sorted(used.items(), key=lambda i: i[0].__name__), ref_template=REF_TEMPLATE
        )
        renamed = {
            REF_TEMPLATE.format(model=model.__name__): str(ref["$ref"]) for (model, _), ref in refs.items()
        }
        defs = schemas.get("$defs", {})
        for name in {model.__name__ for model in used}:
            components.pop(name, None)
        components.update(defs)
        _rewrite_refs(finished.get("paths", {}), renamed)
    components.update(_schema_of(ErrorResponse))
    for operation in _operations(finished):
        responses = operation.setdefault("responses", {})
        responses.setdefault(
            "500",
            {
                "description": INTERNAL_ERROR,
                "content": {
                    "application/json": {"schema": {"$ref": REF_TEMPLATE.format(model="ErrorResponse")}}
                },
            },
        )
    return finished


def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    _, schemas = models_json_schema([(model, "serialization")], ref_template=REF_TEMPLATE)
    defs: dict[str, Any] = schemas.get("$defs", {})
    return defs


def _operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    methods = {method.value.lower() for method in HttpMethod}
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method in methods:
                yield operation


def _rewrite_refs(node: Any, renamed: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in renamed:
            node["$ref"] = renamed[ref]
        for value in node.values():
            _rewrite_refs(value, renamed)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renamed)


def body_models(app: Litestar) -> dict[type[BaseModel], JsonSchemaMode]:
    """The pydantic models the routes take (validation) or answer with (serialization)."""
    found: dict[type[BaseModel], JsonSchemaMode] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            signature = handler.parsed_fn_signature
            data = signature.parameters.get("data")
            if data is not None:
                for model in _models_in(data.annotation):
                    found[model] = "validation"
            outputs = [signature.return_type.annotation]
            outputs += [spec.data_container for spec in (handler.responses or {}).values()]
            for annotation in outputs:
                for model in _models_in(annotation):
                    found.setdefault(model, "serialization")
    return found


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def is_operation_id(value: str) -> bool:
    return re.fullmatch(r"[a-z][A-Za-z0-9]+", value) is not None
