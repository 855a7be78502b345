"""Settings of the catalog stage: where the lake is, which Glue database, where to render, which account.

AWS endpoints and credentials are not settings of ours: boto3 reads ``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_GLUE`` and the default credential chain itself. The region is resolved as the AWS
SDKs do (:func:`core.aws_region.sdk_region`: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's);
with none, the rendered documents say ``REGION`` and ``apply`` stops with a message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from core.aws_region import sdk_region
from core.catalog import project_root
from core.errors import ConfigError
from core.lake import LakeLocation
from core.settings import DEFAULT_DATABASE, check_known, database_name, env_str, local_dir

__all__ = ["DEFAULT_DATABASE", "REGION_PLACEHOLDER", "GlueSettings", "S3Location", "s3_location", "storage_uri"]

REGION_PLACEHOLDER = "REGION"
ACCOUNT_PLACEHOLDER = "ACCOUNT_ID"
_S3_SCHEMES = ("s3", "s3a", "s3n")


@dataclass(frozen=True)
class S3Location:
    """A bucket and a key prefix (no leading slash; empty or ending in ``/``)."""

    bucket: str
    prefix: str

    def child(self, *parts: str) -> S3Location:
        """The location of ``parts`` below this one."""
        joined = "/".join(p.strip("/") for p in parts if p.strip("/"))
        return S3Location(self.bucket, f"{self.prefix}{joined}/" if joined else self.prefix)

    @property
    def uri(self) -> str:
        """``s3://bucket/prefix/`` as Glue, Athena and the AWS CLI spell it."""
        return f"s3://{self.bucket}/{self.prefix}"


def s3_location(uri: str) -> S3Location | None:
    """The bucket and prefix of an ``s3://``, ``s3a://`` or ``s3n://`` URI; None for a local path."""
    parsed = urlparse(uri)
    if parsed.scheme not in _S3_SCHEMES:
        return None
    if not parsed.netloc:
        msg = f"{uri!r} names no bucket; expected s3://bucket/prefix"
        raise ConfigError(msg)
    prefix = parsed.path.strip("/")
    return S3Location(parsed.netloc, f"{prefix}/" if prefix else "")


def storage_uri(lake: str, *parts: str) -> str:
    """The catalog's location of ``parts`` under the lake, ending in ``/``.

    S3 lakes become ``s3://`` (Hadoop's ``s3a://`` is unknown to Glue and Athena); a local lake
    becomes an absolute ``file://`` URI, which Glue stores and DuckDB reads but Athena cannot.
    """
    return LakeLocation.parse(lake).catalog_uri(*parts)


@dataclass(frozen=True)
class GlueSettings:
    """Everything the catalog stage needs; see :meth:`from_env`."""

    lake: str
    database: str = DEFAULT_DATABASE
    build_dir: Path = Path("build/catalog")
    region: str | None = None
    checkpoints: str = ""
    athena_results: str = ""
    account_id: str = ACCOUNT_PLACEHOLDER
    workgroup: str = DEFAULT_DATABASE
    redshift_role: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: str | None) -> GlueSettings:
        """Read ``TELEMETRY_LAKE``, ``TELEMETRY_GLUE_DATABASE``, ``TELEMETRY_BUILD_DIR``,
        ``TELEMETRY_CHECKPOINTS``, ``TELEMETRY_ATHENA_RESULTS`` and the AWS region (as the SDKs resolve it);
        overrides (CLI flags) that are not None win.

        Raises:
            ConfigError: a value is malformed (database name, account id, lake URI), or
                ``AWS_PROFILE`` names a profile the AWS config file lacks.
        """  # noqa: D205 - the variable list does not fit one line
        env = os.environ if env is None else env
        check_known(env)
        home = local_dir(env)

        def pick(key: str, var: str | None, default: str) -> str:
            given = overrides.get(key)
            if given is not None and given.strip():
                return given.strip()
            return env_str(env, var, default) if var else default

        settings = cls(
            lake=pick("lake", "TELEMETRY_LAKE", str(home / "lake")),
            database=database_name(env, overrides.get("database")),
            build_dir=Path(pick("build_dir", "TELEMETRY_BUILD_DIR", str(project_root() / "build" / "catalog"))),
            region=overrides.get("region") or sdk_region(env),
            checkpoints=pick("checkpoints", "TELEMETRY_CHECKPOINTS", str(home / "checkpoints")),
            athena_results=pick("athena_results", "TELEMETRY_ATHENA_RESULTS", ""),
            account_id=pick("account_id", None, ACCOUNT_PLACEHOLDER),
            workgroup=pick("workgroup", None, DEFAULT_DATABASE),
            redshift_role=pick("redshift_role", None, ""),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse names Glue or Athena would refuse later, with the reason now."""
        database_name({}, self.database)
        if not re.match(r"^[A-Za-z0-9_.-]{1,128}$", self.workgroup):
            msg = f"Athena workgroup name {self.workgroup!r} is not allowed: letters, digits, . _ - only"
            raise ConfigError(msg)
        if self.account_id != ACCOUNT_PLACEHOLDER and not re.match(r"^\d{12}$", self.account_id):
            msg = f"AWS account id must be 12 digits, got {self.account_id!r}"
            raise ConfigError(msg)
        if self.redshift_role and not re.match(r"^[\w+=,.@-]{1,64}$", self.redshift_role):
            msg = f"IAM role name {self.redshift_role!r} is not allowed: up to 64 letters, digits and +=,.@_-"
            raise ConfigError(msg)
        s3_location(self.lake)

    @property
    def redshift_role_arn(self) -> str:
        """The role Redshift assumes to read the catalog and the lake (``<database>-redshift-spectrum`` by default)."""
        name = self.redshift_role or f"{self.database}-redshift-spectrum"
        return f"arn:aws:iam::{self.account_id}:role/{name}"

    @property
    def arn_region(self) -> str:
        """The region in ARNs: the configured one, or the placeholder ``REGION`` to replace before deploying."""
        return self.region or REGION_PLACEHOLDER

    @property
    def lake_s3(self) -> S3Location | None:
        """The lake's bucket and prefix, when it is on S3."""
        return s3_location(self.lake)
