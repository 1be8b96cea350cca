"""Async client for Mautic's REST API (contacts, tags, segments), Basic or OAuth2 client credentials."""

from lovia_billing.clients.mautic._auth import BasicAuth, ClientCredentials, MauticAuth
from lovia_billing.clients.mautic._client import MauticClient, error_message
from lovia_billing.clients.mautic._email import email_problem
from lovia_billing.clients.mautic._models import MauticContact, UpsertResult, Where

__all__ = [
    "BasicAuth",
    "ClientCredentials",
    "MauticAuth",
    "MauticClient",
    "MauticContact",
    "UpsertResult",
    "Where",
    "email_problem",
    "error_message",
]
