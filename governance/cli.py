"""``python -m governance lint|check|register|status``: the schema workflow's command line.

Exit codes: 0 fine, 1 lint failure, incompatible or refused change, 2 usage or connection error.
Reports go to stdout; the one-line verdict of a failure goes to stderr through core.cli.run_cli.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from core.catalog import Catalog, Stream, load_catalog, schemas_dir
from core.data_rules import rule_changes_between
from core.errors import ConfigError, SchemaError
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from governance.compat import check_versions, merge_problems, parse
from governance.history import git_versions
from governance.lint import errors, lint_dir
from governance.registry_ops import check_subject, register_subject, subject_status

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line and exit 2, like every other expected failure."""

    def error(self, message: str) -> NoReturn:
        msg = f"{self.prog}: {message} (see --help)"
        raise ConfigError(msg)


def _say(line: str = "") -> None:
    print(line)  # noqa: T201 - the CLI's report


def build_parser() -> argparse.ArgumentParser:
    """The parser: four subcommands sharing the schemas, registry and prefix options."""
    common = _Parser(add_help=False)
    common.add_argument("--schemas-dir", type=Path, default=None, help="schemas folder (default: schemas/)")
    common.add_argument("--registry-url", default=None, help="registry URL (default: $TELEMETRY_REGISTRY_URL)")
    common.add_argument("--topic-prefix", default=None, help="subject prefix (default: $TELEMETRY_TOPIC_PREFIX)")
    common.add_argument("streams", nargs="*", help="streams to work on (default: all in streams.toml)")
    parser = _Parser(prog="python -m governance", description="Lint, check, register and compare the Avro schemas.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("lint", parents=[common], help="check the rules every schema must follow")
    check = commands.add_parser("check", parents=[common], help="check compatibility with the registry or git history")
    check.add_argument("--against", metavar="REV", help="offline: compare with the files' git history up to REV")
    commands.add_parser("register", parents=[common], help="set compatibility levels, then register changed schemas")
    commands.add_parser("status", parents=[common], help="which subjects are in sync, changed locally or missing")
    return parser


def _streams(catalog: Catalog, names: Sequence[str]) -> list[Stream]:
    return [catalog.get(n) for n in names] if names else list(catalog.streams)


def _client(settings: ConnectionSettings) -> RegistryClient:
    return RegistryClient(settings.registry_url, auth=settings.registry_auth())


def _lint(folder: Path) -> int:
    found = lint_dir(folder)
    for violation in found:
        _say(str(violation))
    failed = errors(found)
    if failed:
        msg = f"lint: {len(failed)} violation(s) in {len({v.file for v in failed})} file(s) of {folder}"
        raise SchemaError(msg)
    catalog = load_catalog(folder)
    declared = {s.schema_path.name for s in catalog.streams}
    for path in sorted(folder.glob("*.avsc")):
        if path.name not in declared:
            _say(
                f"{path.name}: <file>: unused (note): streams.toml names no stream for it; fix: declare it or delete it"
            )
    _say(f"lint: {len(declared)} schema(s) in {folder} follow the rules")
    return 0


def _check_offline(streams: list[Stream], settings: ConnectionSettings, rev: str) -> list[str]:
    failed = []
    for stream in streams:
        subject = settings.subject(stream.subject)
        history = git_versions(stream.schema_path, rev)
        earlier = [(v.label, parse(v.text, what=f"{stream.schema_path.name} at {v.label}")) for v in history]
        head = f"{subject} ({stream.schema_path.name}, {stream.compatibility}) against {rev}"
        if not earlier:
            _say(f"{head}: new, no earlier version in git history")
            continue
        problems = merge_problems(
            check_versions(parse(stream.schema, what=str(stream.schema_path)), earlier, stream.compatibility)
        )
        labels = ", ".join(label for label, _ in earlier)
        _say(f"{head}: {'compatible' if not problems else 'NOT COMPATIBLE'} ({len(earlier)} version(s): {labels})")
        for problem in problems:
            _say(f"  {stream.schema_path.name}: {problem}")
        changes = rule_changes_between(history[-1].text, stream.schema)
        if changes:
            _say(f"  note: data rules differ from {history[-1].label}: {changes}")
        if problems:
            failed.append(subject)
    return failed


def _check_online(streams: list[Stream], settings: ConnectionSettings) -> list[str]:
    client, failed = _client(settings), []
    for stream in streams:
        report = check_subject(client, stream, settings.subject(stream.subject))
        versions = ", ".join(str(v) for v in report.versions) or "none"
        verdict = "compatible" if report.ok else "NOT COMPATIBLE"
        _say(
            f"{report.subject} ({stream.schema_path.name}, {report.level}): {verdict} (registered versions: {versions})"
        )
        for problem in report.problems:
            _say(f"  {stream.schema_path.name}: {problem}")
        for note in report.notes:
            _say(f"  note: {note}")
        if not report.ok:
            failed.append(report.subject)
    return failed


def _register(streams: list[Stream], settings: ConnectionSettings) -> int:
    client, refused = _client(settings), []
    for stream in streams:
        outcome = register_subject(client, stream, settings.subject(stream.subject))
        if outcome.action == "unchanged":
            _say(f"{outcome.subject}: unchanged (version {outcome.version}, id {outcome.schema_id})")
        elif outcome.action == "registered":
            _say(
                f"{outcome.subject}: registered version {outcome.version} (id {outcome.schema_id}), "
                f"compatibility {stream.compatibility}"
            )
        else:
            refused.append(outcome.subject)
            _say(f"{outcome.subject}: refused")
            for reason in outcome.reasons:
                _say(f"  {stream.schema_path.name}: {reason}")
    if refused:
        msg = f"register: {len(refused)} subject(s) refused: {', '.join(refused)}; nothing was registered for them"
        raise SchemaError(msg)
    return 0


def _status(streams: list[Stream], settings: ConnectionSettings) -> int:
    client = _client(settings)
    for stream in streams:
        report = subject_status(client, stream, settings.subject(stream.subject))
        _say(f"{report.subject}: {report.state}: {report.detail}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (failures raise a TelemetryError with one line)."""
    args = build_parser().parse_args(argv)
    folder: Path = args.schemas_dir or schemas_dir()
    if not folder.is_dir():
        msg = f"--schemas-dir {folder} is not a folder"
        raise ConfigError(msg)
    if args.command == "lint":
        return _lint(folder)
    settings = ConnectionSettings.from_env(registry_url=args.registry_url, topic_prefix=args.topic_prefix)
    streams = _streams(load_catalog(folder), args.streams)
    if args.command == "register":
        return _register(streams, settings)
    if args.command == "status":
        return _status(streams, settings)
    failed = _check_offline(streams, settings, args.against) if args.against else _check_online(streams, settings)
    if failed:
        where = f"git history up to {args.against}" if args.against else "the registered versions"
        msg = f"check: {len(failed)} subject(s) not compatible with {where}: {', '.join(failed)}"
        raise SchemaError(msg)
    _say(f"check: {len(streams)} subject(s) compatible")
    return 0
