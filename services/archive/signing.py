"""A2 signed checkpoints: Ed25519 keys and signatures (no nameko, no database).

Keys travel as base64 of their raw 32 bytes.  Production provides its own
private key in ``ARCHIVE_SIGNING_KEY``; without one the archive generates a key
once and keeps it in its own database (see README): convenient for a single
installation, but then whoever reads that database can sign checkpoints too.
"""
import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat


def _b64decode(text, what):
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise ValueError(f"A2: {what} is not base64") from None
    if len(raw) != 32:
        raise ValueError(f"A2: {what} must be 32 raw bytes, not {len(raw)}")
    return raw


def load_private_key(text):
    """An Ed25519 private key from base64 of its raw 32 bytes (ValueError when malformed)."""
    return Ed25519PrivateKey.from_private_bytes(_b64decode(text, "the signing key"))


def generate_private_key():
    """A new private key as base64 of its raw 32 bytes."""
    raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def public_key_of(private_key):
    return base64.b64encode(private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def sign(private_key, payload):
    return base64.b64encode(private_key.sign(payload)).decode("ascii")


def verify_signature(public_key, payload, signature):
    """True when ``signature`` (base64) is ``public_key``'s (base64) over ``payload``."""
    try:
        key = Ed25519PublicKey.from_public_bytes(_b64decode(public_key, "the public key"))
        key.verify(base64.b64decode(signature, validate=True), payload)
        return True
    except (ValueError, binascii.Error, InvalidSignature):
        return False


def key_from_file(path, create=False):
    """A2: the signing key kept in a secret file (base64 of the raw 32 bytes), outside the
    archive's database.  ``create``: make one (mode 0600) when the file does not exist (a
    development set-up; deployments provide the file)."""
    import os
    from pathlib import Path
    path = Path(path)
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(generate_private_key() + "\n")
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"A2: the signing key file {path} cannot be read: {exc}") from None
    return load_private_key(text)
