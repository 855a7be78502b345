"""The AWS region, resolved the way the AWS SDKs resolve it.

Order: ``AWS_REGION`` (the name every AWS SDK but boto3 reads, and the one this project documents),
then ``AWS_DEFAULT_REGION``, then the ``region`` of the profile (``AWS_PROFILE``, else ``default``)
in the config file (``AWS_CONFIG_FILE``, else ``~/.aws/config``). botocore resolves the last two
itself; only ``AWS_REGION`` is ours, because botocore does not read it. Nothing is assumed when none
is set: the caller decides what a missing region means.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import botocore.session
from botocore.exceptions import BotoCoreError

from core.errors import ConfigError

__all__ = ["sdk_region"]


def sdk_region(env: Mapping[str, str] | None = None) -> str | None:
    """The region from ``env`` (the process environment by default) and the AWS config file, or None.

    Raises:
        ConfigError: ``AWS_PROFILE`` names a profile the config file does not have.
    """
    env = os.environ if env is None else env
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if env.get(name, "").strip():
            return env[name].strip()
    # botocore would read the process environment; these session variables make it read ``env`` only.
    session = botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "region": ("region", None, None, None),
            "config_file": (None, None, env.get("AWS_CONFIG_FILE") or "~/.aws/config", None),
        },
        profile=env.get("AWS_PROFILE", "").strip() or None,
    )
    try:
        region = session.get_config_variable("region")
    except BotoCoreError as exc:
        msg = f"cannot read the AWS region from the AWS config: {exc}"
        raise ConfigError(msg) from exc
    return str(region) if region else None
