"""Settings come from the environment names of docs/mautic.md; auth must be complete."""

from __future__ import annotations

from typing import Any

import pytest

from lovia_billing import ConfigurationError
from lovia_billing.clients.mautic import BasicAuth, ClientCredentials
from mautic_sync.settings import MauticSyncSettings


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAUTIC_BASE_URL", "https://mautic.example")
    monkeypatch.setenv("MAUTIC_CLIENT_ID", "id")
    monkeypatch.setenv("MAUTIC_CLIENT_SECRET", "s3cr3t-value")
    monkeypatch.setenv("MAUTIC_ACTIVE_SEGMENT_ID", "7")
    monkeypatch.setenv("MAUTIC_FIELD_CUSTOMER_ID", "lovia_id")
    settings = MauticSyncSettings()
    assert settings.mautic_base_url == "https://mautic.example"
    assert settings.mautic_active_segment_id == 7
    assert settings.field_aliases.customer_id == "lovia_id"
    assert settings.mautic_auth() == ClientCredentials("id", "s3cr3t-value")
    assert "s3cr3t-value" not in repr(settings)


def test_basic_auth_is_the_alternative() -> None:
    settings = MauticSyncSettings(mautic_username="api", mautic_password="pw")
    assert settings.mautic_auth() == BasicAuth("api", "pw")


@pytest.mark.parametrize(
    "fields",
    [{}, {"mautic_client_id": "id"}, {"mautic_username": "api"}],
    ids=["none", "id-only", "user-only"],
)
def test_incomplete_auth_is_a_configuration_error(fields: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="MAUTIC_"):
        MauticSyncSettings(**fields).mautic_auth()
