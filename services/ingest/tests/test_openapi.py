"""/schema/openapi.json over HTTP: a valid OpenAPI 3.1 document that says what the code says —
the models' own schemas and examples, named operations, every error, this stage's server — and
no docs UI script from a CDN outside local runs."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ingest.app import create_app
from ingest.errors import ErrorResponse
from ingest.models.api import Accepted, CustomerUpsert, EventStatus, InvoiceCreate, SubscriptionCancel
from ingest.models.xendit import EnvelopeCallback, FvaPaidCallback, InvoiceCallback
from ingest.openapi import REF_TEMPLATE, SWAGGER_UI_VERSION, body_models, is_operation_id
from lovia_billing import IngestSettings

MODELS_WITH_EXAMPLES: list[type[BaseModel]] = [
    CustomerUpsert,
    InvoiceCreate,
    SubscriptionCancel,
    Accepted,
    EventStatus,
    InvoiceCallback,
    EnvelopeCallback,
    FvaPaidCallback,
    ErrorResponse,
]
OPERATIONS = {
    ("get", "/"): "liveness",
    ("get", "/health/ready"): "readiness",
    ("put", "/v1/customers/{customer_id}"): "upsertCustomer",
    ("post", "/v1/invoices"): "requestInvoice",
    ("post", "/v1/subscriptions/{subscription_id}/cancel"): "cancelSubscription",
    ("get", "/v1/events/{event_id}"): "eventStatus",
    ("post", "/webhooks/xendit/invoice"): "xenditInvoiceCallback",
    ("post", "/webhooks/xendit/fva"): "xenditFvaCallback",
    ("post", "/webhooks/xendit/payment"): "xenditPaymentCallback",
}


@pytest.fixture
def document(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method, path): op for path, item in document["paths"].items() for method, op in item.items()}


def component_validator(document: dict[str, Any], name: str) -> Draft202012Validator:
    """A validator for one component schema, resolving ``#/components/schemas/...`` in the document."""
    resource: Resource[Any] = Resource(contents=document, specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:openapi", resource)
    schema = {"$ref": f"urn:openapi#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=registry)


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)  # openapi-spec-validator: raises on any violation of the specification


def test_every_operation_has_a_name_from_the_code(document: dict[str, Any]) -> None:
    found = operations(document)
    ids = [operation["operationId"] for operation in found.values()]
    assert len(ids) == len(set(ids))
    assert all(is_operation_id(operation_id) for operation_id in ids), ids
    for key, expected in OPERATIONS.items():
        assert found[key]["operationId"] == expected
    assert not [i for i in ids if "Webhooks" in i or "V1" in i], "no path-derived names"


def test_every_error_the_routes_answer_is_documented(document: dict[str, Any]) -> None:
    error = {"$ref": REF_TEMPLATE.format(model="ErrorResponse")}
    for (method, path), operation in operations(document).items():
        responses = operation["responses"]
        assert responses["500"]["content"]["application/json"]["schema"] == error, (method, path)
        if method in {"put", "post"}:
            for status in ("400", "401", "413", "415", "422", "503"):
                assert responses[status]["content"]["application/json"]["schema"] == error, (path, status)
    assert "503" in operations(document)[("get", "/health/ready")]["responses"]
    assert "404" in operations(document)[("get", "/v1/events/{event_id}")]["responses"]


def test_component_schemas_are_the_models_own(document: dict[str, Any], ingest_url: str) -> None:
    app = create_app(IngestSettings())
    used = body_models(app)
    assert set(MODELS_WITH_EXAMPLES) <= set(used)
    _, own = models_json_schema(sorted(used.items(), key=lambda i: i[0].__name__), ref_template=REF_TEMPLATE)
    schemas = document["components"]["schemas"]
    for name, schema in own["$defs"].items():
        assert schemas[name] == schema, name


@pytest.mark.parametrize("model", MODELS_WITH_EXAMPLES, ids=lambda m: m.__name__)
def test_examples_are_the_models_own_and_valid(document: dict[str, Any], model: type[BaseModel]) -> None:
    schema = document["components"]["schemas"][model.__name__]
    declared = model.model_config.get("json_schema_extra", {})
    assert isinstance(declared, dict)
    assert schema["examples"] == declared["examples"]
    assert schema["description"] == inspect.cleandoc(model.__doc__ or "")  # the docstring, whole
    validator = component_validator(document, model.__name__)
    for example in schema["examples"]:
        model.model_validate(example)  # the model accepts its own example
        assert not list(validator.iter_errors(example)), example  # and so does the document


def test_patterns_bounds_and_descriptions_survive(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    invoice = schemas["InvoiceCreate"]
    assert invoice["description"].startswith("``POST /v1/invoices``")
    assert invoice["properties"]["invoice_id"]["pattern"] == r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$"
    assert invoice["additionalProperties"] is False
    (number, text) = invoice["properties"]["amount"]["anyOf"]
    assert text["pattern"] == r"^[0-9]+(\.[0-9]+)?$"
    assert number["maximum"] == 100_000_000_000
    assert "never a JSON float" in invoice["properties"]["amount"]["description"]
    assert schemas["EnvelopeCallback"]["properties"]["event"]["pattern"] == r"^[a-z_]+(\.[a-z_]+)+$"
    assert "time zone" in schemas["SubscriptionCancel"]["properties"]["cancelled_at"]["description"]
    assert schemas["ErrorBody"]["properties"]["code"]["description"] == "stable machine-readable code"


def test_no_filler_examples_anywhere_in_the_paths(document: dict[str, Any]) -> None:
    def examples_in(node: Any) -> list[Any]:
        if isinstance(node, dict):
            own = [node["examples"]] if "examples" in node or "example" in node else []
            return own + [e for value in node.values() for e in examples_in(value)]
        if isinstance(node, list):
            return [e for value in node for e in examples_in(value)]
        return []

    assert examples_in(document["paths"]) == []


def test_local_runs_name_the_local_server_and_pin_the_docs_ui(
    serve_asgi: Callable[[Any], str], aws_endpoint: str
) -> None:
    url = serve_asgi(create_app(IngestSettings(billing_stage="local", port=3999)))
    document = httpx.get(f"{url}/schema/openapi.json").json()
    assert document["servers"] == [
        {"url": "http://127.0.0.1:3999", "description": "Lovia Billing ingest (local)"}
    ]
    page = httpx.get(f"{url}/schema").text
    scripts = re.findall(r'src="([^"]+)"', page)
    assert scripts
    assert all(f"swagger-ui-dist@{SWAGGER_UI_VERSION}/" in src for src in scripts), scripts
    assert "@latest" not in page
    assert "@main" not in page


@pytest.mark.parametrize("stage", ["staging", "production"])
def test_deployed_stages_name_their_host_and_serve_no_ui(
    serve_asgi: Callable[[Any], str], aws_endpoint: str, stage: str
) -> None:
    public = f"https://billing-v6-{stage}.lovia.life"
    url = serve_asgi(create_app(IngestSettings(billing_stage=stage, public_base_url=public + "/")))
    document = httpx.get(f"{url}/schema/openapi.json").json()
    assert document["servers"] == [{"url": public, "description": f"Lovia Billing ingest ({stage})"}]
    root = httpx.get(f"{url}/schema")
    assert "<script" not in root.text
    assert root.headers["content-type"].startswith("application/")
    assert httpx.get(f"{url}/schema/swagger").status_code == 404
