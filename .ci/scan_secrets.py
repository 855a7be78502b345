#!/usr/bin/env python3
"""Refuse keys, certificates, keystores and written-out passwords in the files git tracks.

Run by ``make lint`` (and so by CI): ``python3 .ci/scan_secrets.py [REPO]``. Exit 1 with one line per
finding (file:line: what), 0 when clean. Standard library only; offline. A line that must show such a
text on purpose (a documented placeholder) carries ``secret-scan: allow``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# Stores that hold keys or certificates, by name.
STORE_SUFFIXES = (".jks", ".p12", ".pfx", ".keystore", ".truststore", ".pem", ".key", ".crt", ".der", ".csr")
# A value that is clearly not a secret: empty, an environment variable's name, a placeholder, a reference.
_PLACEHOLDER = re.compile(
    r"^(|[A-Z][A-Z0-9_]*_[A-Z0-9_]+|\*+|\.\.\.|<[^>]*>|\$\{?[A-Za-z_][^}]*\}?|\$\(.*\)|%\(.*\)s|\{[a-z_.]*\}"
    r"|(?i:x+|changeme|secret|password))$"
)
RULES = (
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    ("a certificate", re.compile(r"-----BEGIN (?:TRUSTED )?CERTIFICATE-----")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
)
_ASSIGNED = re.compile(
    r"""(?ix)(?:password|passwd|secret|sasl\.password|api[_-]?key|token)["']?\s*[:=]\s*
        (?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s,;)\]}]+))"""
)
ALLOW = "secret-scan: allow"


def tracked_files(repo: Path) -> list[str]:
    """The files git tracks in ``repo``."""
    out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z"], capture_output=True, check=True).stdout  # noqa: S603, S607
    return [name for name in out.decode().split("\0") if name]


# Files where ``password=value`` without quotes is a literal (configuration), not code.
CONFIG_SUFFIXES = (".properties", ".env", ".yml", ".yaml", ".conf", ".cfg", ".ini", ".toml", ".sh", ".md", ".txt")


def _written_password(line: str, config: bool) -> bool:
    for match in _ASSIGNED.finditer(line):
        quoted = match.group("dq") if match.group("dq") is not None else match.group("sq")
        value = (quoted if quoted is not None else match.group("bare") if config else "").strip()
        if len(value) < 6 or "{" in value or value.startswith(("$", "<", "%")):
            continue  # empty, short, interpolated or a reference: not a written-out secret
        if not _PLACEHOLDER.match(value):
            return True
    return False


def scan(repo: Path) -> list[str]:
    """Every finding in ``repo``'s tracked files, as ``file:line: what``."""
    findings = []
    for name in tracked_files(repo):
        if name.lower().endswith(STORE_SUFFIXES):
            findings.append(f"{name}: a key or certificate store is tracked; keep it out of git (.local/ is ignored)")
            continue
        try:
            text = (repo / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary or removed in the work tree
        for number, line in enumerate(text.splitlines(), 1):
            if ALLOW in line:
                continue
            found = [what for what, rule in RULES if rule.search(line)]
            if _written_password(line, name.lower().endswith(CONFIG_SUFFIXES)):
                found.append("a password written out")
            findings += [f"{name}:{number}: {what}" for what in found]
    return findings


def main() -> int:
    """Scan the repository given (default: this one); exit 1 on findings."""
    repo = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    findings = scan(repo)
    for finding in findings:
        print(f"secret scan: {finding}", file=sys.stderr)  # noqa: T201 - a CLI
    if findings:
        summary = f"secret scan: {len(findings)} finding(s); remove them, or mark a placeholder line '{ALLOW}'"
        print(summary, file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
