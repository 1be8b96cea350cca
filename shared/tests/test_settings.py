"""Settings: environment, comma lists, and a Secrets Manager JSON secret (moto over HTTP)."""

from __future__ import annotations

import json

import boto3
import pytest
from pydantic_settings import AWSSecretsManagerSettingsSource

from lovia_billing import ConfigurationError, IngestSettings
from lovia_billing._settings import secrets_manager_source


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


def test_the_secret_is_read_by_pydantic_settings_own_source(
    aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = boto3.client("secretsmanager", region_name="ap-southeast-1").create_secret(
        Name="billing/test-built-in-source", SecretString=json.dumps({"LOG_LEVEL": "DEBUG"})
    )["ARN"]
    source = secrets_manager_source(IngestSettings, arn)
    assert isinstance(source, AWSSecretsManagerSettingsSource)  # no hand-written copy of it
    assert source()["log_level"] == "DEBUG"
    monkeypatch.setenv("BILLING_SECRETS_ARN", arn)
    assert IngestSettings().log_level == "DEBUG"


def test_secret_keys_match_settings_whatever_their_case(
    aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = boto3.client("secretsmanager", region_name="ap-southeast-1").create_secret(
        Name="billing/test-settings-case",
        SecretString=json.dumps({"xendit_callback_token": "lower", "Max_Body_Bytes": 2048}),
    )["ARN"]
    monkeypatch.setenv("BILLING_SECRETS_ARN", arn)
    settings = IngestSettings()
    assert [t.get_secret_value() for t in settings.xendit_callback_token] == ["lower"]
    assert settings.max_body_bytes == 2048


def test_a_secret_that_is_not_json_is_a_configuration_error_without_its_content(
    aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = boto3.client("secretsmanager", region_name="ap-southeast-1").create_secret(
        Name="billing/test-settings-not-json", SecretString="xnd_secret_not_json"
    )["ARN"]
    monkeypatch.setenv("BILLING_SECRETS_ARN", arn)
    with pytest.raises(ConfigurationError, match="BILLING_SECRETS_ARN") as raised:
        IngestSettings()
    assert "xnd_secret_not_json" not in str(raised.value)


def test_without_a_secret_no_aws_call_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    # No stand-in here: a source that called AWS would fail (no endpoint, no credentials).
    monkeypatch.delenv("BILLING_SECRETS_ARN", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert IngestSettings(port=4321).port == 4321
