"""``python -m glue render|plan|apply``: the AWS catalog from the schemas (local SQL: ``python -m lakesql``).

Examples::

    python -m glue render                  # build/catalog/: Glue JSON, Athena and Redshift SQL, IAM documents
    python -m glue plan                    # what apply would change in the live Glue catalog
    python -m glue apply                   # create/evolve the database and its Iceberg tables (idempotent)

``render``, ``plan`` and ``apply`` record each table's registry version, so they need the registry
(``TELEMETRY_REGISTRY_URL``); ``--offline`` skips that (the version is then ``unregistered``).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence

from rich.console import Console

from core.catalog import Catalog, load_catalog
from core.cli import run_cli
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from glue.apply import apply_changes, glue_catalog, plan_changes
from glue.plan import Change, describe
from glue.render import render
from glue.settings import GlueSettings
from glue.tables import table_definitions
from glue.versions import registered_versions

__all__ = ["main", "parse_args"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--lake", help="lake folder or s3://bucket/prefix (default TELEMETRY_LAKE or .local/lake)")
    common.add_argument(
        "--database", help="Glue database / DuckDB schema (default TELEMETRY_GLUE_DATABASE or smartcity)"
    )
    catalog_opts = argparse.ArgumentParser(add_help=False)
    catalog_opts.add_argument("--offline", action="store_true", help="do not look up schema versions in the registry")

    parser = argparse.ArgumentParser(prog="python -m glue", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rendering = commands.add_parser("render", parents=[common, catalog_opts], help="write the catalog documents")
    rendering.add_argument("--build-dir", help="output folder (default TELEMETRY_BUILD_DIR or build/catalog)")
    rendering.add_argument("--account-id", help="AWS account id for policy ARNs (default: placeholder ACCOUNT_ID)")
    rendering.add_argument("--workgroup", help="analysts' Athena workgroup (default: the database name)")
    rendering.add_argument(
        "--redshift-role", help="IAM role Redshift Spectrum assumes (default: <database>-redshift-spectrum)"
    )
    commands.add_parser("plan", parents=[common, catalog_opts], help="show what apply would change")
    commands.add_parser("apply", parents=[common, catalog_opts], help="create or evolve the Glue catalog's tables")
    return parser.parse_args(argv)


def _settings(args: argparse.Namespace) -> GlueSettings:
    return GlueSettings.from_env(
        lake=args.lake,
        database=args.database,
        build_dir=getattr(args, "build_dir", None),
        account_id=getattr(args, "account_id", None),
        workgroup=getattr(args, "workgroup", None),
        redshift_role=getattr(args, "redshift_role", None),
    )


def _versions(args: argparse.Namespace, catalog: Catalog) -> Mapping[str, int] | None:
    if getattr(args, "offline", True):
        return None
    connection = ConnectionSettings.from_env()
    registry = RegistryClient(connection.registry_url, auth=connection.registry_auth())
    return registered_versions(catalog, registry, connection)


def _print_changes(console: Console, changes: list[Change], database: str) -> None:
    for change in changes:
        for line in describe(change, database):
            console.print(line, markup=False, highlight=False)


def _catalog_command(args: argparse.Namespace, console: Console) -> int:
    settings = _settings(args)
    catalog = load_catalog()
    versions = _versions(args, catalog)
    if args.command == "render":
        rendered = render(catalog, settings, versions)
        console.print(f"rendered {len(rendered.tables)} tables, {len(rendered.files)} files into {rendered.folder}")
        if rendered.placeholder_lake:
            console.print(
                "note: the lake is a local folder, so the IAM documents use the placeholder bucket LAKE_BUCKET; "
                "render with --lake s3://<bucket>/<prefix> --account-id <id> to deploy them"
            )
        if settings.region is None:
            console.print(
                "note: no AWS region is configured (AWS_REGION, AWS_DEFAULT_REGION or the profile's), so the "
                "ARNs say REGION; set one and render again to deploy them"
            )
        return 0
    tables = table_definitions(catalog, settings, versions)
    glue = glue_catalog(settings)
    changes = plan_changes(glue, settings, tables)
    if not changes:
        console.print(f"nothing to change: database {settings.database} and its {len(tables)} tables are up to date")
        return 0
    _print_changes(console, changes, settings.database)
    if args.command == "plan":
        console.print(f"{len(changes)} change(s) to apply; run `python -m glue apply`")
        return 0
    apply_changes(glue, settings, changes)
    console.print(f"applied {len(changes)} change(s) to database {settings.database}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = parse_args(argv)
    for noisy in ("botocore", "boto3"):  # credential and endpoint discovery lines are not the user's business
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return _catalog_command(args, Console(soft_wrap=True))


def entry() -> None:
    """Console entry point: expected failures print one line and exit non-zero."""
    run_cli(main)
