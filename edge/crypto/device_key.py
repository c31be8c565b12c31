"""The device's own Ed25519 key, which signs its delivery receipts (docs/protocol.md §9). Made at
the first start in the data dir: the private key (PKCS#8 PEM, mode 0600, written atomically)
never leaves the device and is never logged; the public key (SubjectPublicKeyInfo PEM) is
published retained on `device_key`. Both fixed-layout DER, so no ASN.1 library is loaded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.crypto.verify import ED25519_SPKI_PREFIX, PEM_FOOTER, PEM_HEADER

FILE_NAME = "device_key.pem"
PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")  # then the 32-byte seed


KEY_FIX = (
    "restore it from a backup; or move it away, and the next start makes a new key "
    "(the cloud must then trust the new one, published on device_key)"
)


class DeviceKeyError(ValueError):
    """The device key file cannot be used; the message names it and says what to do."""


def _pem(kind: str, der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----", ""])


def public_pem(key: Ed25519PrivateKey) -> str:
    return _pem("PUBLIC KEY", ED25519_SPKI_PREFIX + key.public_key().public_bytes_raw())


def mqtt_client_id(device_id: str, key: Ed25519PrivateKey) -> str:
    """The device's MQTT client id: its name, then a tag only its private key can make. A fixed,
    guessable id let any principal of the broker take the device's session (knocking it off,
    taking the messages queued for it); this one is stable across restarts, and secret."""
    tag = hmac.new(key.private_bytes_raw(), b"doorstep mqtt client id", hashlib.sha256)
    return f"doorstep-{device_id}-{tag.hexdigest()[:16]}"


def load_or_create(data_dir: Path) -> Ed25519PrivateKey:
    path = data_dir / FILE_NAME
    if path.exists():
        return load(path)
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes_raw()
    temp = path.with_name(f".{FILE_NAME}.tmp")
    temp.unlink(missing_ok=True)  # a crash's leftover, or a planted link: never written through
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(_pem("PRIVATE KEY", PKCS8_PREFIX + seed))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    directory = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return key


def load(path: Path) -> Ed25519PrivateKey:
    text = path.read_text(encoding="ascii").strip()
    header = PEM_HEADER.replace("PUBLIC", "PRIVATE")
    footer = PEM_FOOTER.replace("PUBLIC", "PRIVATE")
    if not (text.startswith(header) and text.endswith(footer)):
        raise DeviceKeyError(f"{path} is not a PEM private key: {KEY_FIX}")
    der = base64.b64decode("".join(text[len(header) : -len(footer)].split()))
    if len(der) != len(PKCS8_PREFIX) + 32 or not der.startswith(PKCS8_PREFIX):
        raise DeviceKeyError(f"{path} is not an Ed25519 private key: {KEY_FIX}")
    return Ed25519PrivateKey.from_private_bytes(der[len(PKCS8_PREFIX) :])
