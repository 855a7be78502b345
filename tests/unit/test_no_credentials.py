"""No credentials in the repository: every git-tracked file is scanned for keys and secrets."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from core.catalog import project_root

# AWS access key ids: AKIA (long-term) or ASIA (temporary) and 16 upper-case letters or digits.
ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
# `aws_secret_access_key = <40 base64 chars>`, in any case and with any of = : => quoting.
SECRET_ASSIGNMENT = re.compile(
    r"(?i)(?:aws)?_?secret_?(?:access)?_?key[\"']?\s*(?:=|:|=>)\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
)
PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
PATTERNS = {"AWS access key id": ACCESS_KEY_ID, "secret key": SECRET_ASSIGNMENT, "private key": PRIVATE_KEY}


def scan(path: Path) -> list[str]:
    """Findings in one file as ``path:line: what``; binary and unreadable files have none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        findings += [f"{path}:{number}: {what}" for what, pattern in PATTERNS.items() if pattern.search(line)]
    return findings


def tracked_files() -> list[Path]:
    root = project_root()
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    return [root / name for name in listed.decode().split("\0") if name]


def test_no_tracked_file_holds_a_credential() -> None:
    files = tracked_files()
    assert any(f.name == "pyproject.toml" for f in files), "git ls-files should list the project's files"
    findings = [finding for path in files if path.is_file() for finding in scan(path)]
    assert findings == []


def test_the_scanner_finds_planted_credentials(tmp_path: Path) -> None:
    # Built by concatenation so this file itself does not match.
    key_id = "AKIA" + "Z7QX4MRT2PLW9KHB"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "ZXAMPLEKEY"  # secret-scan: allow
    header = "-----BEGIN RSA " + "PRIVATE KEY-----"
    planted = tmp_path / "settings.env"
    planted.write_text(
        f"region=us-east-1\nAWS_ACCESS_KEY_ID={key_id}\naws_secret_access_key = '{secret}'\n{header}\n",
        encoding="utf-8",
    )
    assert scan(planted) == [
        f"{planted}:2: AWS access key id",
        f"{planted}:3: secret key",
        f"{planted}:4: private key",
    ]


def test_the_scanner_leaves_fake_test_credentials_alone(tmp_path: Path) -> None:
    harmless = tmp_path / "conftest.py"
    harmless.write_text('AWS_ACCESS_KEY_ID = "testing"\nAWS_SECRET_ACCESS_KEY = "testing"\n', encoding="utf-8")
    assert scan(harmless) == []
