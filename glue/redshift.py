"""Redshift Spectrum over the generated catalog: the external schema, its role's policies, the queries.

``CREATE EXTERNAL SCHEMA ... FROM DATA CATALOG`` makes the Glue database a schema of the Redshift
database (provisioned cluster or Serverless workgroup alike); Redshift then reads the Parquet files
itself, through the role named in ``IAM_ROLE``. That role gets read-only Glue on this database and
``GetObject`` on the lake prefix, nothing else: it creates nothing in Glue, because ``glue apply``
owns the tables. Pure: texts and dicts; :mod:`glue.render` writes them.

Redshift Spectrum does not use Athena's partition projection; it lists the partitions registered in
Glue, which :mod:`glue.partitions` (``python -m glue partitions``) adds.
"""

from __future__ import annotations

from typing import Any

from core.queries import QUERIES
from core.sql import quote_identifier, quote_literal
from glue.iam import POLICY_VERSION, deployment_locations, glue_arns, list_statements, object_arn
from glue.settings import GlueSettings

__all__ = ["external_schema_sql", "redshift_documents", "spectrum_role_policy", "spectrum_trust_policy"]


def external_schema_sql(settings: GlueSettings) -> str:
    """``CREATE EXTERNAL SCHEMA`` named like the Glue database, so the named queries run unchanged.

    Without a configured region the ``REGION`` clause is left out: Redshift then uses its own region.
    """
    region = f"REGION {quote_literal(settings.region, 'redshift')}\n" if settings.region else ""
    return (
        f"CREATE EXTERNAL SCHEMA IF NOT EXISTS {quote_identifier(settings.database, 'redshift')}\n"
        "FROM DATA CATALOG\n"
        f"DATABASE {quote_literal(settings.database, 'redshift')}\n"
        f"{region}"
        f"IAM_ROLE {quote_literal(settings.redshift_role_arn, 'redshift')};\n"
    )


def spectrum_trust_policy() -> dict[str, Any]:
    """Who may assume the Spectrum role: Redshift clusters and Redshift Serverless."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "RedshiftAssumesTheRole",
                "Effect": "Allow",
                "Principal": {"Service": ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def spectrum_role_policy(settings: GlueSettings) -> dict[str, Any]:
    """The Spectrum role's policy: read this database's Glue definitions and partitions, read the lake."""
    catalog, database, table_prefix = glue_arns(settings)
    lake = deployment_locations(settings).lake
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ReadTheCatalog",
                "Effect": "Allow",
                "Action": [
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                ],
                "Resource": [catalog, database, f"{table_prefix}/*"],
            },
            *list_statements("ListTheLake", [lake]),
            {
                "Sid": "LocateTheBucket",
                "Effect": "Allow",
                "Action": "s3:GetBucketLocation",
                "Resource": f"arn:aws:s3:::{lake.bucket}",
            },
            {"Sid": "ReadTheLake", "Effect": "Allow", "Action": "s3:GetObject", "Resource": object_arn(lake)},
        ],
    }


def redshift_documents(settings: GlueSettings) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """The Redshift SQL files (by path under ``redshift/``) and the Spectrum role's IAM documents (by name)."""
    sql = {"external-schema.sql": external_schema_sql(settings)}
    for query in QUERIES:
        sql[f"queries/{query.name}.sql"] = query.render(settings.database, "redshift") + ";\n"
    iam = {
        "redshift-spectrum-policy.json": spectrum_role_policy(settings),
        "redshift-spectrum-trust-policy.json": spectrum_trust_policy(),
    }
    return sql, iam
