"""How the client proves who it is: HTTP Basic (a Mautic user) or OAuth2 client credentials.

Both keep their secrets out of ``repr`` so they never reach a log line.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass


@dataclass(frozen=True, repr=False)
class BasicAuth:
    """A Mautic user's name and password (Basic auth must be enabled in Mautic's API settings)."""

    username: str
    password: str

    def header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password='**********')"


@dataclass(frozen=True, repr=False)
class ClientCredentials:
    """An OAuth2 API credential's public id and secret (``grant_type=client_credentials``)."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret='**********')"


MauticAuth = BasicAuth | ClientCredentials
