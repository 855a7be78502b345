"""Redshift over the generated catalog: the external schema, its role's policies, the queries.

``CREATE EXTERNAL SCHEMA ... FROM DATA CATALOG`` makes the Glue database a schema of the Redshift
database (provisioned cluster or Serverless workgroup alike). Redshift recognises the Iceberg tables
(``table_type=ICEBERG``) and reads each one's current snapshot from its ``metadata_location``, through the
role named in ``IAM_ROLE``: the manifests prune by the hidden day partition, and no partition is registered
in Glue. That role gets read-only Glue on this database and ``GetObject``/``ListBucket`` on the lake prefix,
nothing else: it creates nothing in Glue, because ``glue apply`` and the job own the tables. Pure: texts and
dicts; :mod:`glue.render` writes them.
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
    """The Redshift role's policy: read this database's Glue definitions, read the lake (data and metadata)."""
    catalog, database, table_prefix = glue_arns(settings)
    lake = deployment_locations(settings).lake
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ReadTheCatalog",
                "Effect": "Allow",
                "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetTables"],
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
