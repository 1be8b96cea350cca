"""GraphQL errors with a code in ``extensions``: the REST API's codes, and a few of GraphQL's own.

A resolver raises ``ApiError`` (a write's error answer is turned into one, with the same code,
status, message and details as REST answers). ``ErrorCodes`` then gives every error of a result a
``code``: refused documents by the rule that refused them, and anything unexpected is masked as
``internal_error`` (logged here, never shown: it may hold internals).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from ingest.writes import Answer
from lovia_billing.logs import get_logger

#: Codes of documents refused before anything runs, by the message of the rule that refused them.
_REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"exceeds maximum operation depth"), "query_too_deep"),
    (re.compile(r"Document contains more than \d+ tokens"), "query_too_large"),
    (re.compile(r"aliases found\. Allowed"), "too_many_aliases"),
    (re.compile(r"introspection has been disabled", re.IGNORECASE), "introspection_disabled"),
    (re.compile(r"^query cost \d+ exceeds the maximum"), "query_too_costly"),
)


class ApiError(Exception):
    """An error a resolver means to show: its code, HTTP-like status, message and details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Sequence[Mapping[str, Any]] = (),
        *,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": code, "status": status}
        if details:
            self.extensions["details"] = [dict(d) for d in details]
        if retry_after is not None:
            self.extensions["retryAfter"] = int(retry_after)

    @classmethod
    def from_answer(cls, answer: Answer) -> ApiError:
        """A write's error answer, as the REST API would have sent it."""
        error = answer.body["error"]
        return cls(
            answer.status,
            str(error["code"]),
            str(error["message"]),
            error.get("details") or (),
            retry_after=answer.headers.get("Retry-After"),
        )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def code_of_refusal(error: GraphQLError) -> str:
    for pattern, code in _REFUSALS:
        if pattern.search(error.message):
            return code
    return "graphql_parse_failed" if isinstance(error, GraphQLSyntaxError) else "graphql_validation_failed"


def _coded(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, ApiError):
        extensions = original.extensions
        message = str(original)
    elif original is None:  # refused before execution (syntax, validation, limits)
        if error.extensions and "code" in error.extensions:
            return error
        extensions, message = {"code": code_of_refusal(error)}, error.message
    else:
        get_logger("ingest").error(
            "graphql resolver failed",
            extra={"path": error.path, "error": f"{type(original).__name__}: {original}"},
        )
        extensions, message = {"code": "internal_error", "status": 500}, "internal error"
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    """Every error of a result carries ``extensions.code``; unexpected ones are masked."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, GraphQLExecutionResult | ExecutionResult) and result.errors:
            result.errors = [_coded(error) for error in result.errors]
