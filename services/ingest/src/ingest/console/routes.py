"""``/console``: the operators' console, server-rendered HTML (Jinja2) behind the ``/v1`` API keys.

The key comes as ``Authorization: Bearer`` or, for a person, from a cookie set once by signing in
(``POST /console/session`` with ``{"key": ...}``): HttpOnly, SameSite=Strict, only for ``/console``,
Secure behind TLS. The console only reads (the ledger and DLQ depths); it acts on nothing, so a
forged request can learn nothing and change nothing. ``CONSOLE_ENABLED=false`` turns it off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler
from pydantic import BaseModel, Field

from ingest.console.search import KINDS, LABELS, search
from ingest.errors import error_response
from ingest.lookup import Lookup
from ingest.security import matches_any
from ingest.services import Services
from lovia_billing.topology import Integration

PATH: Final = "/console"
ASSETS: Final = f"{PATH}/assets"
COOKIE: Final = "lovia_console_key"
COOKIE_SECONDS: Final = 12 * 3600
_HERE = Path(__file__).parent
_TEMPLATES = Environment(
    loader=FileSystemLoader(_HERE / "templates"), autoescape=True, undefined=StrictUndefined
)
#: Pages load only the console's own files and talk only to the console.
HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class SignIn(BaseModel):
    key: str = Field(min_length=1, max_length=512)


def _given_key(request: Request[Any, Any, Any]) -> str:
    scheme, _sep, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(COOKIE, "")


def _accepted(services: Services, key: str) -> bool:
    return matches_any(key, services.settings.billing_api_keys)


def _page(template: str, services: Services, status_code: int = 200, **values: Any) -> Response[str]:
    html = _TEMPLATES.get_template(template).render(
        root=PATH, assets=ASSETS, stage=services.settings.billing_stage, **values
    )
    return Response(html, status_code=status_code, media_type=MediaType.HTML, headers=HEADERS)


def _behind_tls(request: Request[Any, Any, Any]) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"


class ConsoleController(Controller):
    path = PATH
    include_in_schema = False

    @get("/")
    async def console(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        q: FromQuery[str] = "",
        by: FromQuery[str] = "auto",
        after: FromQuery[str | None] = None,
    ) -> Response[str]:
        """Search, the timeline of what was found, and every DLQ's depth; the sign-in page without a key."""
        if not _accepted(services, _given_key(request)):
            return _page("login.html.j2", services, status_code=401)
        kind = by if by in KINDS else "auto"
        lookup = Lookup(services)
        found = await search(lookup, q[:256], kind, after or None)
        return _page(
            "console.html.j2",
            services,
            found=found,
            by=kind,
            kinds=KINDS,
            labels=LABELS,
            depths=await lookup.dead_letter_depths(),
            integrations=[i.value for i in Integration],
        )

    @post("/session", status_code=200)
    async def sign_in(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], data: JSONBody[SignIn]
    ) -> Response[Any]:
        """Keep an accepted key in this browser's console cookie."""
        if not _accepted(services, data.key):
            return error_response(401, "missing or unknown API key")
        cookie = Cookie(
            key=COOKIE,
            value=data.key,
            path=PATH,
            max_age=COOKIE_SECONDS,
            httponly=True,
            samesite="strict",
            secure=_behind_tls(request),
        )
        return Response({"signed_in": True}, cookies=[cookie], headers={"Cache-Control": "no-store"})

    @get("/logout")
    async def sign_out(self) -> Redirect:
        """Forget the key: the cookie is cleared, the sign-in page follows."""
        redirect = Redirect(PATH)
        redirect.delete_cookie(COOKIE, path=PATH)
        return redirect


def console_routes(enabled: bool) -> list[ControllerRouterHandler]:
    """The console and its two files, for ``Litestar(route_handlers=)``; nothing when it is off."""
    if not enabled:
        return []
    assets = create_static_files_router(
        path=ASSETS, directories=[_HERE / "static"], include_in_schema=False, name="console-assets"
    )
    return [ConsoleController, assets]
