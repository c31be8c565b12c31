"""Verify a pass's compact JWS with the trusted Ed25519 keys (PROTOCOL §2, first two checks).

We parse the token ourselves before calling PyJWT so that every shape problem is `malformed`
and only a signature that fails every trusted key is `bad_signature`. The algorithm is pinned
to EdDSA: `none` and HMAC tokens never reach a key.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from edge.domain.passes import Reason

# A real pass is well under 1 KiB. Anything larger is refused before it is parsed at all, so
# junk cannot cost the core more than a few microseconds, or memory.
MAX_PASS_BYTES = 4 * 1024


@dataclass(frozen=True)
class SignatureError(Exception):
    reason: Reason  # MALFORMED or BAD_SIGNATURE
    claims: Any = None  # the unverified claims, when they parsed, to echo a jti


class KeyFileError(ValueError):
    pass


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Load a PEM SubjectPublicKeyInfo Ed25519 key, or raise KeyFileError saying why not."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        key = load_pem_public_key(data)
    except ValueError as exc:
        raise KeyFileError(f"{path} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} is not an Ed25519 public key")
    return key


def _b64_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except RecursionError:  # JSON nested deeper than the parser's stack: not a pass
        raise ValueError("JSON nested too deeply") from None


def _parse(token: str) -> tuple[dict[str, Any], Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise SignatureError(Reason.MALFORMED)
    try:
        header, claims = _b64_json(parts[0]), _b64_json(parts[1])
    except (ValueError, binascii.Error, UnicodeError):
        raise SignatureError(Reason.MALFORMED) from None
    if not isinstance(header, dict) or header.get("alg") != "EdDSA" or "b64" in header:
        raise SignatureError(Reason.MALFORMED, claims)
    if not isinstance(claims, dict):
        raise SignatureError(Reason.MALFORMED)
    return header, claims


def verify_signature(payload: bytes, keys: Sequence[Ed25519PublicKey]) -> dict[str, Any]:
    """Return the claims of a pass signed by one of ``keys``; raise SignatureError otherwise."""
    if len(payload) > MAX_PASS_BYTES:
        raise SignatureError(Reason.MALFORMED)
    try:
        token = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SignatureError(Reason.MALFORMED) from None
    _, claims = _parse(token)
    jws = jwt.PyJWS()
    for key in keys:
        try:
            jws.decode_complete(token, key=key, algorithms=["EdDSA"])
            return claims
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidTokenError:
            raise SignatureError(Reason.MALFORMED, claims) from None
    raise SignatureError(Reason.BAD_SIGNATURE, claims)
