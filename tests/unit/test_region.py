"""The catalog's region is resolved as the AWS SDKs do: AWS_REGION, AWS_DEFAULT_REGION, then the profile."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import pytest

from core.aws_region import sdk_region
from core.catalog import load_catalog
from core.errors import CatalogError, ConfigError
from glue.apply import glue_client
from glue.render import render
from glue.settings import GlueSettings


@pytest.fixture
def config_file(tmp_path: Path) -> str:
    path = tmp_path / "config"
    path.write_text("[default]\nregion = eu-central-1\n\n[profile team]\nregion = eu-west-2\n\n[profile bare]\n")
    return str(path)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "eu-central-1"),
        ({"AWS_PROFILE": "team"}, "eu-west-2"),
        ({"AWS_PROFILE": "bare"}, None),
        ({"AWS_PROFILE": "team", "AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1"),
        ({"AWS_PROFILE": "team", "AWS_DEFAULT_REGION": "ap-south-1", "AWS_REGION": "sa-east-1"}, "sa-east-1"),
    ],
)
def test_the_order_is_aws_region_then_aws_default_region_then_the_profile(
    config_file: str, env: dict[str, str], expected: str | None
) -> None:
    settings = GlueSettings.from_env({"TELEMETRY_LAKE": "/lake", "AWS_CONFIG_FILE": config_file, **env})
    assert settings.region == expected


def test_the_profile_region_is_what_boto3_itself_resolves(config_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", config_file)
    monkeypatch.setenv("AWS_PROFILE", "team")
    assert sdk_region() == boto3.session.Session().region_name == "eu-west-2"
    assert GlueSettings.from_env(lake="/lake").region == "eu-west-2"


def test_an_unknown_profile_is_one_clear_line(config_file: str) -> None:
    with pytest.raises(ConfigError, match=r"profile \(nope\) could not be found"):
        sdk_region({"AWS_CONFIG_FILE": config_file, "AWS_PROFILE": "nope"})


def test_the_profile_region_reaches_the_arns_and_the_redshift_schema(config_file: str, tmp_path: Path) -> None:
    env = {"AWS_CONFIG_FILE": config_file, "AWS_PROFILE": "team", "TELEMETRY_BUILD_DIR": str(tmp_path / "out")}
    settings = GlueSettings.from_env(env, lake="s3a://acme/lake", account_id="123456789012")
    render(load_catalog(), settings)
    policy = json.loads((tmp_path / "out" / "iam" / "redshift-spectrum-policy.json").read_text())
    assert "arn:aws:glue:eu-west-2:123456789012:catalog" in policy["Statement"][0]["Resource"]
    assert "\nREGION 'eu-west-2'\n" in (tmp_path / "out" / "redshift" / "external-schema.sql").read_text()


def test_without_any_region_render_uses_a_placeholder_and_apply_stops_with_one_line(tmp_path: Path) -> None:
    settings = GlueSettings.from_env({"AWS_CONFIG_FILE": os.devnull, "TELEMETRY_BUILD_DIR": str(tmp_path)}, lake="/l")
    assert settings.region is None
    render(load_catalog(), settings)
    analyst = json.loads((tmp_path / "iam" / "analyst-policy.json").read_text())
    assert analyst["Statement"][0]["Resource"].startswith("arn:aws:athena:REGION:ACCOUNT_ID:workgroup/")
    with pytest.raises(CatalogError, match=r"^no AWS region configured: set AWS_REGION") as caught:
        glue_client(settings)
    assert "\n" not in str(caught.value)
