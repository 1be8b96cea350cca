"""Settings: environment, comma lists, and a Secrets Manager JSON secret (moto over HTTP)."""

from __future__ import annotations

import json

import boto3
import pytest

from lovia_billing import ConfigurationError, IngestSettings


def test_comma_separated_keys_allow_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_API_KEYS", " new-key , old-key ,")
    settings = IngestSettings()
    assert [k.get_secret_value() for k in settings.billing_api_keys] == ["new-key", "old-key"]
    assert "new-key" not in repr(settings)  # secrets stay out of reprs and logs


def test_secret_by_arn_fills_settings_and_the_environment_wins(
    aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = boto3.client("secretsmanager", region_name="ap-southeast-1").create_secret(
        Name="billing/test-settings",
        SecretString=json.dumps(
            {"XENDIT_CALLBACK_TOKEN": "from-secret", "BILLING_API_KEYS": "k1,k2", "PORT": 4000}
        ),
    )["ARN"]
    monkeypatch.setenv("BILLING_SECRETS_ARN", arn)
    monkeypatch.setenv("PORT", "3999")
    settings = IngestSettings()
    assert [t.get_secret_value() for t in settings.xendit_callback_token] == ["from-secret"]
    assert [k.get_secret_value() for k in settings.billing_api_keys] == ["k1", "k2"]
    assert settings.port == 3999


def test_unreadable_secret_is_a_configuration_error(
    aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "BILLING_SECRETS_ARN", "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:nope"
    )
    with pytest.raises(ConfigurationError, match="BILLING_SECRETS_ARN"):
        IngestSettings()
