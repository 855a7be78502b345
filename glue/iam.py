"""Least-privilege IAM policies, the bucket policy and the Block Public Access settings, generated.

Each role gets only what it does:

* committing writer (the streaming job and table maintenance, through Iceberg's Glue catalog with S3FileIO):
  read, write and delete objects under the lake prefix (data and metadata files; maintenance deletes the
  files of expired snapshots and orphans) and the checkpoint prefix, list only those prefixes; in Glue, read
  its database and read, create and update exactly its tables (an Iceberg commit is an ``UpdateTable`` that
  swaps ``metadata_location``). It deletes no table and creates no database.
* catalog applier (``python -m glue apply``): read and create its database, read, create and update exactly its
  tables; read and write objects only under those tables' ``metadata/`` folders (creating or evolving a table
  writes a new metadata file), and list them. It deletes nothing.
* analyst (Athena): read the lake, run queries in its Athena workgroup, write that workgroup's results
  prefix, read the Glue definitions of its database. Time travel reads older snapshots' files: the same grants.

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


def glue_arns(settings: GlueSettings) -> tuple[str, str, str]:
    """The ARNs of the Glue catalog, of the database, and the prefix of its tables' ARNs."""
    base = f"arn:aws:glue:{settings.arn_region}:{settings.account_id}"
    return f"{base}:catalog", f"{base}:database/{settings.database}", f"{base}:table/{settings.database}"


def _its_tables(settings: GlueSettings, tables: list[str], sid: str, actions: list[str]) -> dict[str, Any]:
    """``actions`` on the catalog, the database and exactly ``tables`` (Glue checks all three ARNs)."""
    catalog, database, table_prefix = glue_arns(settings)
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": [catalog, database, *(f"{table_prefix}/{name}" for name in tables)],
    }


def streaming_writer_policy(settings: GlueSettings, where: Locations, tables: list[str]) -> dict[str, Any]:
    """The committing writer's policy (job and maintenance): its tables in Glue, its lake and checkpoint prefixes."""
    catalog, database, _ = glue_arns(settings)
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ReadTheDatabase",
                "Effect": "Allow",
                "Action": "glue:GetDatabase",
                "Resource": [catalog, database],
            },
            _its_tables(
                settings,
                tables,
                "ReadCreateAndCommitItsTables",
                ["glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable"],
            ),
            *list_statements("ListLakeAndCheckpointPrefixes", [where.lake, where.checkpoints]),
            {
                "Sid": "ReadWriteLakeAndCheckpointObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                "Resource": [object_arn(where.lake), object_arn(where.checkpoints)],
            },
        ],
    }


def catalog_applier_policy(settings: GlueSettings, where: Locations, tables: list[str]) -> dict[str, Any]:
    """The catalog applier's policy: its database, exactly its tables, and those tables' metadata files."""
    catalog, database, _ = glue_arns(settings)
    metadata = [where.lake.child(settings.database, name, "metadata") for name in tables]
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ReadAndCreateTheDatabase",
                "Effect": "Allow",
                "Action": ["glue:GetDatabase", "glue:CreateDatabase"],
                "Resource": [catalog, database],
            },
            _its_tables(
                settings,
                tables,
                "ReadCreateAndEvolveItsTables",
                ["glue:GetTable", "glue:CreateTable", "glue:UpdateTable"],
            ),
            *list_statements("ListItsTablesMetadata", metadata),
            {
                "Sid": "ReadWriteItsTablesMetadata",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [object_arn(where_) for where_ in metadata],
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
        "streaming-writer-policy.json": streaming_writer_policy(settings, where, tables),
        "catalog-applier-policy.json": catalog_applier_policy(settings, where, tables),
        "analyst-policy.json": analyst_policy(settings, where),
        "public-access-block.json": public_access_block(),
    }
    for bucket in sorted({where.lake.bucket, where.checkpoints.bucket, where.results.bucket}):
        documents[f"bucket-policy-{bucket}.json"] = bucket_policy(bucket)
    return documents
