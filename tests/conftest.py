"""Fixtures for every test: fake AWS credentials, so nothing can reach real AWS."""

from __future__ import annotations

import os

import pytest

_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",  # secret-scan: allow
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def pytest_configure(config: pytest.Config) -> None:
    """Set fake credentials before any test or fixture runs (subprocesses inherit them)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_ENDPOINT_URL_GLUE"):  # fmt: skip
        os.environ.pop(name, None)
    os.environ.update(_FAKE_AWS)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
