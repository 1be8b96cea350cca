"""One clear line on error (CONTRACT.md): bad arguments exit 2, operational errors exit 1.

Typer prints usage errors as a usage dump or a rich box; operators (and scripts grepping the output)
get one line instead: ``error: <what is wrong>``. AWS errors are translated here once, so every
command says the same thing about missing credentials or an unreachable endpoint.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from typer.core import TyperGroup

EXIT_FAILURE = 1


class OperatorError(Exception):
    """Something the operator must fix or know: printed as ``error: <message>``, exit 1."""


def aws_error_message(exc: BotoCoreError | ClientError) -> str:
    """One line naming the cause, never a secret (botocore's messages carry no credentials)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(exc, NoRegionError):
        return "no AWS region: set AWS_REGION"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        where = exc.kwargs.get("endpoint_url") or endpoint or "the AWS endpoint"
        return f"cannot reach {where} (is AWS_ENDPOINT_URL right and the stand-in running?)"
    if isinstance(exc, ReadTimeoutError):
        return f"AWS did not answer in time: {exc}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", "")
        return f"AWS {exc.operation_name} failed: {code}: {message}".rstrip(": ")
    return f"AWS call failed: {exc}"


def _fail(message: str, code: int) -> NoReturn:
    line = " ".join(message.split())  # one line, whatever a server put in its message
    typer.echo(f"error: {line[:500]}", err=True)
    sys.exit(code)


def _fail_usage(exc: typer.TyperException) -> NoReturn:
    """Usage errors (exit 2) in one line, with where to look; a bare group prints its help."""
    message = exc.format_message()
    context = getattr(exc, "ctx", None)
    # no_args_is_help: the "error" is the help text itself (the class is typer's private click copy).
    if type(exc).__name__ == "NoArgsIsHelpError":
        typer.echo(message, err=True)
        sys.exit(exc.exit_code)
    # Some messages list choices on several lines; pydantic's prefix says nothing to an operator.
    message = " ".join(message.replace("Value error, ", "").split())
    hint = f" (see '{context.command_path} --help')" if context is not None else ""
    _fail(message + hint, exc.exit_code)


class OneLineErrorGroup(TyperGroup):
    """The root group: runs the command non-standalone and turns every known error into one line."""

    def main(  # type: ignore[override] # typer's signature, with the extras passed on
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.TyperException as exc:  # click's exceptions, which typer vendors
            _fail_usage(exc)
        except typer.Abort:
            _fail("aborted", 130)
        except OperatorError as exc:
            _fail(str(exc), EXIT_FAILURE)
        except (BotoCoreError, ClientError) as exc:
            _fail(aws_error_message(exc), EXIT_FAILURE)
        # Non-standalone typer returns the code of a ``typer.Exit`` (``--help`` is ``Exit(0)``).
        sys.exit(result if isinstance(result, int) else 0)
