"""``strawberry.field``/``mutation`` with a description, typed as decorators for mypy.

Called with arguments, strawberry's own are typed ``Any`` (they also serve as ``x: int = field()``),
which mypy reports as untyped decorators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry

F = TypeVar("F", bound=Callable[..., Any])


def field(description: str) -> Callable[[F], F]:
    return cast("Callable[[F], F]", strawberry.field(description=description))


def mutation(description: str) -> Callable[[F], F]:
    return cast("Callable[[F], F]", strawberry.mutation(description=description))
