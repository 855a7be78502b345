"""The CI scan that keeps keys, certificates and passwords out of the repository (`make lint` runs it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from core.catalog import project_root

SCANNER = project_root() / ".ci" / "scan_secrets.py"


def _repo(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    return tmp_path


def _scan(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCANNER), str(repo)], capture_output=True, text=True, check=False)


def test_a_planted_key_store_and_password_are_each_found(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    repo = _repo(
        tmp_path,
        {
            "notes/debug.txt": "copied from the broker:\n" + key.decode(),
            "config/client.truststore": b"\xfe\xed\xfe\xed not really a store",
            "config/client.properties": "sasl.username=producer\nsasl.password=Tr0ub4dor-and-3\n",
            "src/app.py": 'AWS_KEY = "AKIA' + "ABCDEFGHIJKLMNOP" + '"\n',
            "src/fine.py": 'password = os.environ["TELEMETRY_KAFKA_SASL_PASSWORD"]\n',
        },
    )
    result = _scan(repo)
    assert result.returncode == 1
    found = result.stderr.splitlines()
    assert "secret scan: notes/debug.txt:2: a private key" in found
    assert any(line.startswith("secret scan: config/client.truststore: a key or certificate store") for line in found)
    assert "secret scan: config/client.properties:2: a password written out" in found
    assert "secret scan: src/app.py:1: an AWS access key id" in found
    assert not any("fine.py" in line for line in found)
    assert found[-1].startswith("secret scan: 4 finding(s)")


def test_a_clean_repository_passes_and_so_does_this_one(tmp_path: Path) -> None:
    repo = _repo(tmp_path, {"README.md": "set TELEMETRY_KAFKA_SASL_PASSWORD_FILE=<path>\npassword: ${PASSWORD}\n"})
    assert _scan(repo).returncode == 0
    ours = _scan(project_root())
    assert ours.returncode == 0, ours.stderr
