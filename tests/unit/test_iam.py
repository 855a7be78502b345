"""Generated IAM documents grant each role only what it uses, and keep the bucket private and TLS-only."""

from __future__ import annotations

from typing import Any

import pytest

from core.catalog import load_catalog
from core.errors import ConfigError
from glue.iam import (
    analyst_policy,
    bucket_policy,
    catalog_applier_policy,
    deployment_locations,
    public_access_block,
    security_documents,
    streaming_writer_policy,
)
from glue.redshift import spectrum_role_policy, spectrum_trust_policy
from glue.settings import GlueSettings
from glue.tables import table_definitions

SETTINGS = GlueSettings(
    lake="s3a://acme-lake/telemetry/lake",
    checkpoints="s3a://acme-lake/telemetry/checkpoints",
    athena_results="s3://acme-results/athena/",
    account_id="123456789012",
    region="eu-west-1",
    database="smartcity",
    workgroup="smartcity",
)
TABLES = [t.name for t in table_definitions(load_catalog(), SETTINGS)]


def allows(policy: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (action, resource, condition) an Allow statement grants."""
    granted = []
    for statement in policy["Statement"]:
        assert statement["Effect"] in ("Allow", "Deny")
        if statement["Effect"] != "Allow":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        granted += [(a, r, statement.get("Condition", {})) for a in actions for r in resources]
    return granted


def test_the_committing_writer_reaches_only_its_tables_and_its_lake_and_checkpoint_prefixes() -> None:
    granted = allows(streaming_writer_policy(SETTINGS, deployment_locations(SETTINGS), TABLES))
    objects = {(a, r) for a, r, _ in granted if a.startswith("s3:") and a != "s3:ListBucket"}
    assert objects == {
        (action, resource)
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
        for resource in ("arn:aws:s3:::acme-lake/telemetry/lake/*", "arn:aws:s3:::acme-lake/telemetry/checkpoints/*")
    }
    listing = [(r, c) for a, r, c in granted if a == "s3:ListBucket"]
    assert listing == [
        (
            "arn:aws:s3:::acme-lake",
            {
                "StringLike": {
                    "s3:prefix": [
                        "telemetry/lake",
                        "telemetry/lake/*",
                        "telemetry/checkpoints",
                        "telemetry/checkpoints/*",
                    ]
                }
            },
        )
    ]
    base = "arn:aws:glue:eu-west-1:123456789012"
    glue = {(a, r) for a, r, _ in granted if a.startswith("glue:")}
    assert glue == {
        ("glue:GetDatabase", f"{base}:catalog"),
        ("glue:GetDatabase", f"{base}:database/smartcity"),
        *(
            (action, resource)
            for action in ("glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable")
            for resource in (
                f"{base}:catalog",
                f"{base}:database/smartcity",
                *(f"{base}:table/smartcity/{t}" for t in TABLES),
            )
        ),
    }
    assert not any(a.startswith(("athena:", "glue:Delete", "glue:CreateDatabase")) for a, _, _ in granted)


def test_catalog_applier_touches_only_its_database_its_tables_and_their_metadata() -> None:
    granted = allows(catalog_applier_policy(SETTINGS, deployment_locations(SETTINGS), TABLES))
    assert {a for a, _, _ in granted if a.startswith("glue:")} == {
        "glue:GetDatabase",
        "glue:CreateDatabase",
        "glue:GetTable",
        "glue:CreateTable",
        "glue:UpdateTable",
    }
    base = "arn:aws:glue:eu-west-1:123456789012"
    allowed = {f"{base}:catalog", f"{base}:database/smartcity", *(f"{base}:table/smartcity/{t}" for t in TABLES)}
    assert {r for a, r, _ in granted if a.startswith("glue:")} == allowed
    metadata = {f"arn:aws:s3:::acme-lake/telemetry/lake/smartcity/{t}/metadata/*" for t in TABLES}
    assert {(a, r) for a, r, _ in granted if a in ("s3:GetObject", "s3:PutObject")} == {
        (a, r) for a in ("s3:GetObject", "s3:PutObject") for r in metadata
    }
    (listing,) = [c for a, _, c in granted if a == "s3:ListBucket"]
    assert "telemetry/lake/smartcity/vehicle/metadata/*" in listing["StringLike"]["s3:prefix"]
    assert not any(a.startswith(("glue:Delete", "s3:Delete")) for a, _, _ in granted)


def test_analyst_reads_the_lake_queries_and_writes_only_its_results() -> None:
    granted = allows(analyst_policy(SETTINGS, deployment_locations(SETTINGS)))
    writes = {(a, r) for a, r, _ in granted if a in ("s3:PutObject", "s3:DeleteObject")}
    assert writes == {("s3:PutObject", "arn:aws:s3:::acme-results/athena/*")}
    assert ("s3:GetObject", "arn:aws:s3:::acme-lake/telemetry/lake/*") in {(a, r) for a, r, _ in granted}
    athena = {r for a, r, _ in granted if a.startswith("athena:")}
    assert athena == {"arn:aws:athena:eu-west-1:123456789012:workgroup/smartcity"}
    glue = {a for a, _, _ in granted if a.startswith("glue:")}
    assert glue == {"glue:GetDatabase", "glue:GetTable", "glue:GetTables"}
    assert "s3:GetObject" not in {a for a, r, _ in granted if "checkpoints" in r}


def test_redshift_reads_its_database_and_the_lake_and_writes_nothing() -> None:
    granted = allows(spectrum_role_policy(SETTINGS))
    glue = {a for a, _, _ in granted if a.startswith("glue:")}
    assert glue == {"glue:GetDatabase", "glue:GetTable", "glue:GetTables"}  # Iceberg: no partitions in Glue
    assert {r for a, r, _ in granted if a.startswith("glue:")} == {
        "arn:aws:glue:eu-west-1:123456789012:catalog",
        "arn:aws:glue:eu-west-1:123456789012:database/smartcity",
        "arn:aws:glue:eu-west-1:123456789012:table/smartcity/*",
    }
    s3 = {(a, r) for a, r, _ in granted if a.startswith("s3:")}
    assert s3 == {
        ("s3:ListBucket", "arn:aws:s3:::acme-lake"),
        ("s3:GetBucketLocation", "arn:aws:s3:::acme-lake"),
        ("s3:GetObject", "arn:aws:s3:::acme-lake/telemetry/lake/*"),
    }
    trust = spectrum_trust_policy()["Statement"]
    assert [(s["Effect"], s["Action"]) for s in trust] == [("Allow", "sts:AssumeRole")]
    assert trust[0]["Principal"] == {"Service": ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]}


def _all_policies() -> dict[str, dict[str, Any]]:
    return {**security_documents(SETTINGS, TABLES), "redshift-spectrum-policy.json": spectrum_role_policy(SETTINGS)}


@pytest.mark.parametrize(
    "name",
    [
        "streaming-writer-policy.json",
        "catalog-applier-policy.json",
        "analyst-policy.json",
        "redshift-spectrum-policy.json",
    ],
)
def test_no_wildcard_actions_and_no_wildcard_resources_beyond_prefixes(name: str) -> None:
    policy = _all_policies()[name]
    for action, resource, condition in allows(policy):
        assert "*" not in action, action
        head, _, tail = resource.partition("*")
        assert tail == "", resource
        assert resource == head or head.endswith("/"), resource  # '*' only as 'everything under this prefix'
        assert resource.count(":") >= 5 or resource.startswith("arn:aws:s3:::"), resource
        if action == "s3:ListBucket":
            assert condition["StringLike"]["s3:prefix"], "listing must be scoped to prefixes"


def test_bucket_policy_denies_requests_without_tls() -> None:
    policy = bucket_policy("acme-lake")
    insecure = [s for s in policy["Statement"] if s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}]
    assert len(insecure) == 1
    assert insecure[0]["Effect"] == "Deny"
    assert insecure[0]["Principal"] == "*"
    assert insecure[0]["Resource"] == ["arn:aws:s3:::acme-lake", "arn:aws:s3:::acme-lake/*"]
    assert all(s["Effect"] == "Deny" for s in policy["Statement"])


def test_block_public_access_stays_fully_on() -> None:
    assert public_access_block() == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }


def test_every_bucket_gets_the_tls_only_policy() -> None:
    documents = security_documents(SETTINGS, TABLES)
    assert {"bucket-policy-acme-lake.json", "bucket-policy-acme-results.json"} <= set(documents)


def test_local_lake_renders_for_a_placeholder_bucket_and_bucket_roots_are_refused() -> None:
    local = GlueSettings(lake="/somewhere/lake")
    where = deployment_locations(local)
    assert where.placeholder
    assert (where.lake.bucket, where.checkpoints.prefix, where.results.prefix) == (
        "LAKE_BUCKET",
        "checkpoints/",
        "athena-results/",
    )
    with pytest.raises(ConfigError, match="bucket root"):
        deployment_locations(GlueSettings(lake="s3://acme-lake"))
