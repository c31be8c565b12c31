"""The cloud's side of passes: an Ed25519 key pair and minting signed commands
(docs/protocol.md §2).
Dev keys are generated at run time, never committed."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PRIVATE_NAME = "cloud.key.pem"
PUBLIC_NAME = "cloud.pub.pem"
COMMAND_LIFETIME_S = 60
GRANT_LIFETIME_S = 3600


def generate_keypair(folder: Path) -> tuple[Path, Path]:
    """Write a new key pair into ``folder``; the private key is readable by its owner only."""
    folder.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private = folder / PRIVATE_NAME
    public = folder / PUBLIC_NAME
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def mint(  # noqa: PLR0913 - one keyword per claim a test or scenario may set
    key: Ed25519PrivateKey,
    cmd: str,
    *,
    device_id: str,
    delivery_id: str,
    now: float | None = None,
    lifetime_s: float | None = None,
    mode: str = "doorstep",
    courier: dict[str, str] | None = None,
    confidential: bool | None = None,
    issuer: str = "doorstep-sim-cloud",
    **extra: Any,
) -> str:
    """A signed pass for ``cmd``; ``extra`` claims override or add to the standard ones."""
    now = time.time() if now is None else now
    if lifetime_s is None:
        lifetime_s = GRANT_LIFETIME_S if cmd == "arriving" else COMMAND_LIFETIME_S
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": device_id,
        "jti": uuid.uuid4().hex,
        "iat": int(now),
        "exp": int(now + lifetime_s),
        "cmd": cmd,
        "delivery_id": delivery_id,
    }
    if cmd == "arriving":
        claims["mode"] = mode
        claims["courier"] = courier or {"id": "courier-7", "name": "Sam Courier"}
        if confidential is not None:
            claims["confidential"] = confidential
    claims.update(extra)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"typ": "JWT"})
