"""Least-privilege IAM policies, the bucket policy and the Block Public Access settings, generated.

Each role gets only what it does:

* streaming writer: read, write and delete objects under the lake prefix and the checkpoint prefix
  (Spark's file sink and checkpoints rename by copy and delete) and list only those prefixes;
  no Glue (the catalog is generated, not crawled).
* catalog applier: read, create and update its own database and its own tables in Glue, and add
  their partitions (``glue partitions``, for Redshift Spectrum); it deletes nothing.
* analyst: read the lake, run queries in its Athena workgroup, write that workgroup's results
  prefix, read the Glue definitions of its database.

The lake bucket denies every request that is not TLS 1.2+, and keeps all four Block Public Access
switches on. Pure: the documents are returned as dicts; :mod:`glue.render` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import ConfigError
from glue.settings import GlueSettings, S3Location, s3_location

__all__ = [
    "PLACEHOLDER_LAKE",
    "POLICY_VERSION",
    "Locations",
    "analyst_policy",
    "bucket_policy",
    "catalog_applier_policy",
    "deployment_locations",
    "glue_arns",
    "list_statements",
    "object_arn",
    "public_access_block",
    "security_documents",
    "streaming_writer_policy",
]

PLACEHOLDER_LAKE = S3Location("LAKE_BUCKET", "lake/")
"""Used for the policies when the lake is a local folder; render with ``--lake s3://...`` to deploy."""

POLICY_VERSION = "2012-10-17"


@dataclass(frozen=True)
class Locations:
    """Where each role's data lives on S3."""

    lake: S3Location
    checkpoints: S3Location
    results: S3Location
    placeholder: bool


def deployment_locations(settings: GlueSettings) -> Locations:
    """The lake, checkpoint and Athena result locations, on S3.

    A local checkpoint folder or an unset result location becomes a sibling prefix in the lake's
    bucket (``checkpoints/``, ``athena-results/``).

    Raises:
        ConfigError: the lake is the bucket's root, which no prefix-scoped policy can protect.
    """
    placeholder = settings.lake_s3 is None
    lake = settings.lake_s3 or PLACEHOLDER_LAKE
    if not lake.prefix:
        msg = (
            f"lake {settings.lake} is a bucket root; put it under a prefix (s3://bucket/lake) so policies can scope it"
        )
        raise ConfigError(msg)
    checkpoints = s3_location(settings.checkpoints) or S3Location(lake.bucket, "checkpoints/")
    results = s3_location(settings.athena_results) or S3Location(lake.bucket, "athena-results/")
    for name, where in (("checkpoint", checkpoints), ("Athena result", results)):
        if not where.prefix:
            msg = f"the {name} location is a bucket root; put it under a prefix so policies can scope it"
            raise ConfigError(msg)
    return Locations(lake=lake, checkpoints=checkpoints, results=results, placeholder=placeholder)


def object_arn(where: S3Location) -> str:
    """The ARN of every object under a prefix."""
    return f"arn:aws:s3:::{where.bucket}/{where.prefix}*"


def list_statements(sid: str, places: list[S3Location]) -> list[dict[str, Any]]:
    """``s3:ListBucket`` statements limited to ``places``' prefixes, one per bucket."""
    by_bucket: dict[str, list[str]] = {}
    for where in places:
        by_bucket.setdefault(where.bucket, []).extend([where.prefix.rstrip("/"), f"{where.prefix}*"])
    return [
        {
            "Sid": f"{sid}{index}" if len(by_bucket) > 1 else sid,
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": prefixes}},
        }
        for index, (bucket, prefixes) in enumerate(by_bucket.items())
    ]


def streaming_writer_policy(where: Locations) -> dict[str, Any]:
    """The streaming job's policy: its lake prefix and its checkpoint prefix, nothing else."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            *list_statements("ListLakeAndCheckpointPrefixes", [where.lake, where.checkpoints]),
            {
                "Sid": "ReadWriteLakeAndCheckpointObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                "Resource": [object_arn(where.lake), object_arn(where.checkpoints)],
            },
        ],
    }


def glue_arns(settings: GlueSettings) -> tuple[str, str, str]:
    """The ARNs of the Glue catalog, of the database, and the prefix of its tables' ARNs."""
    base = f"arn:aws:glue:{settings.arn_region}:{settings.account_id}"
    return f"{base}:catalog", f"{base}:database/{settings.database}", f"{base}:table/{settings.database}"


def catalog_applier_policy(settings: GlueSettings, tables: list[str]) -> dict[str, Any]:
    """The catalog applier's policy: its database and exactly its tables in Glue."""
    catalog, database, table_prefix = glue_arns(settings)
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ReadAndCreateTheDatabase",
                "Effect": "Allow",
                "Action": ["glue:GetDatabase", "glue:CreateDatabase"],
                "Resource": [catalog, database],
            },
            {
                "Sid": "ReadCreateUpdateItsTablesAndAddPartitions",
                "Effect": "Allow",
                "Action": [
                    "glue:GetTable",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:GetPartitions",
                    "glue:BatchCreatePartition",
                ],
                "Resource": [catalog, database, *(f"{table_prefix}/{name}" for name in tables)],
            },
        ],
    }


def analyst_policy(settings: GlueSettings, where: Locations) -> dict[str, Any]:
    """The analyst's policy: read the lake, query in its workgroup, write its results, read the catalog."""
    catalog, database, table_prefix = glue_arns(settings)
    workgroup = f"arn:aws:athena:{settings.arn_region}:{settings.account_id}:workgroup/{settings.workgroup}"
    buckets = sorted({where.lake.bucket, where.results.bucket})
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "QueryInItsWorkgroup",
                "Effect": "Allow",
                "Action": [
                    "athena:GetWorkGroup",
                    "athena:StartQueryExecution",
                    "athena:StopQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:ListQueryExecutions",
                    "athena:BatchGetQueryExecution",
                ],
                "Resource": workgroup,
            },
            {
                "Sid": "ReadTheCatalog",
                "Effect": "Allow",
                "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetTables"],
                "Resource": [catalog, database, f"{table_prefix}/*"],
            },
            *list_statements("ListLakeAndResultPrefixes", [where.lake, where.results]),
            {
                "Sid": "LocateBuckets",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                "Resource": [f"arn:aws:s3:::{bucket}" for bucket in buckets],
            },
            {"Sid": "ReadTheLake", "Effect": "Allow", "Action": "s3:GetObject", "Resource": object_arn(where.lake)},
            {
                "Sid": "WriteQueryResults",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": object_arn(where.results),
            },
        ],
    }


def bucket_policy(bucket: str) -> dict[str, Any]:
    """A bucket policy that refuses any request without TLS, or with TLS older than 1.2."""
    resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyTlsOlderThan12",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
            },
        ],
    }


def public_access_block() -> dict[str, bool]:
    """S3 Block Public Access: all four switches on (``put-public-access-block`` input)."""
    return {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def security_documents(settings: GlueSettings, tables: list[str]) -> dict[str, dict[str, Any]]:
    """Every security document by file name: three role policies, bucket policies, Block Public Access."""
    where = deployment_locations(settings)
    documents: dict[str, dict[str, Any]] = {
        "streaming-writer-policy.json": streaming_writer_policy(where),
        "catalog-applier-policy.json": catalog_applier_policy(settings, tables),
        "analyst-policy.json": analyst_policy(settings, where),
        "public-access-block.json": public_access_block(),
    }
    for bucket in sorted({where.lake.bucket, where.checkpoints.bucket, where.results.bucket}):
        documents[f"bucket-policy-{bucket}.json"] = bucket_policy(bucket)
    return documents
