"""The secured local stack's certificates: a private CA and one certificate for the Kafka nodes, as PEM files.

Made once under ``<TELEMETRY_HOME>/tls`` (mode 0700, keys 0600) with the ``cryptography`` package and
kept across restarts; never committed (``.local/`` is ignored and the secret scan refuses PEM keys).
Kafka reads PEM directly (``ssl.keystore.type=PEM``, ``ssl.truststore.type=PEM``), and so do librdkafka
(``ssl.ca.location``) and the Java client of Spark and Apicurio (a PEM truststore), so no JKS or
PKCS#12 store and no store password exist.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.secrets import private_dir, write_private

__all__ = ["NODE_NAME", "TlsFiles", "ensure_tls", "tls_files"]

NODE_NAME = "telemetry-kafka"
"""The Kafka nodes' certificate subject CN; the controllers authenticate each other by it (mutual TLS)."""
_VALID_DAYS = 825


@dataclass(frozen=True)
class TlsFiles:
    """Where the CA certificate and the nodes' key and certificate chain are."""

    ca: Path
    node_keystore: Path

    @property
    def principal(self) -> str:
        """The nodes' Kafka principal on a mutual-TLS listener."""
        return f"User:CN={NODE_NAME}"


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None, issuer_key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
        )
    return builder.sign(issuer_key, hashes.SHA256())


def ensure_tls(home: Path) -> TlsFiles:
    """The CA and the nodes' certificate under ``home/tls``, made on first use (the CA key is then dropped).

    The CA's private key is not kept: nothing else is ever signed with it, so there is no key to steal
    that could mint a certificate the stack trusts. ``make clean`` removes the folder and a new CA follows.
    """
    private_dir(home / "tls")
    files = tls_files(home)
    if files.ca.exists() and files.node_keystore.exists():
        files.node_keystore.chmod(0o600)  # a key kept from an earlier version may be wider
        return files
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("telemetry-local-ca", ca_key, None, ca_key)
    node_key = ec.generate_private_key(ec.SECP256R1())
    node = _cert(NODE_NAME, node_key, ca.subject, ca_key)
    # Kafka's PEM keystore: the private key, then the certificate chain.
    chain = node.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    write_private(files.node_keystore, _key_pem(node_key) + chain)
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return files


def tls_files(home: Path) -> TlsFiles:
    """Where :func:`ensure_tls` keeps the files under ``home`` (they may not exist yet)."""
    return TlsFiles(ca=home / "tls" / "ca.pem", node_keystore=home / "tls" / "kafka-node.pem")
