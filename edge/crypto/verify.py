"""Verify a pass's compact JWS with the trusted Ed25519 keys (docs/protocol.md §2, the first
two checks).

A pass has one shape (RFC 7515 compact serialisation, RFC 8037 EdDSA), so we check it with
`cryptography`'s Ed25519 alone: every shape problem is `malformed`, and only a signature that
fails every trusted key is `bad_signature`. The algorithm is pinned to EdDSA: `none` and HMAC
tokens never reach a key, and no header extension (`crit`, `b64`) is honoured. (PyJWT, which
the simulator uses to mint passes, would cost the daemon 10 MB of memory for this.)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.domain.passes import Reason

# A real pass is well under 1 KiB. Anything larger is refused before it is parsed at all, so
# junk cannot cost the core more than a few microseconds, or memory.
MAX_PASS_BYTES = 4 * 1024
# SubjectPublicKeyInfo of an Ed25519 key (RFC 8410): this DER prefix, then the 32-byte key.
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
PEM_HEADER, PEM_FOOTER = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"


class SignatureError(Exception):
    """A pass that is no valid signed JWS: ``reason`` is MALFORMED or BAD_SIGNATURE; ``claims``
    are the unverified claims when they parsed, to echo a well-formed jti."""

    def __init__(self, reason: Reason, claims: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.claims = claims


class KeyFileError(ValueError):
    pass


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Load a PEM SubjectPublicKeyInfo Ed25519 key, or raise KeyFileError saying why not."""
    try:
        text = path.read_text(encoding="ascii")
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError:
        raise KeyFileError(f"{path} is not a PEM public key") from None
    body = text.strip()
    if not (body.startswith(PEM_HEADER) and body.endswith(PEM_FOOTER)):
        raise KeyFileError(f"{path} is not a PEM public key")
    try:
        der = base64.b64decode(
            "".join(body[len(PEM_HEADER) : -len(PEM_FOOTER)].split()), validate=True
        )
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{path} is not a PEM public key") from None
    if len(der) != len(ED25519_SPKI_PREFIX) + 32 or not der.startswith(ED25519_SPKI_PREFIX):
        raise KeyFileError(f"{path} is not an Ed25519 public key")
    return Ed25519PublicKey.from_public_bytes(der[len(ED25519_SPKI_PREFIX) :])


def _b64(segment: str) -> bytes:
    """Strict base64url without padding: any other character is a shape error."""
    return base64.b64decode(segment + "=" * (-len(segment) % 4), altchars=b"-_", validate=True)


def _b64_json(segment: str) -> Any:
    try:
        return json.loads(_b64(segment))
    except RecursionError:  # JSON nested deeper than the parser's stack: not a pass
        raise ValueError("JSON nested too deeply") from None


def _parse(token: str) -> tuple[bytes, dict[str, Any], bytes]:
    """(signing input, claims, signature) of a compact JWS, or SignatureError(malformed)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise SignatureError(Reason.MALFORMED)
    try:
        header, claims = _b64_json(parts[0]), _b64_json(parts[1])
        signature = _b64(parts[2])
    except (ValueError, binascii.Error, UnicodeError):
        raise SignatureError(Reason.MALFORMED) from None
    if (
        not isinstance(header, dict)
        or header.get("alg") != "EdDSA"
        or "b64" in header
        or "crit" in header
    ):
        raise SignatureError(Reason.MALFORMED, claims)
    if not isinstance(claims, dict):
        raise SignatureError(Reason.MALFORMED)
    return f"{parts[0]}.{parts[1]}".encode("ascii"), claims, signature


def verify_signature(
    payload: bytes, keys: Sequence[Ed25519PublicKey]
) -> tuple[dict[str, Any], int]:
    """Return the claims of a pass signed by one of ``keys``, and which one signed it (its
    index); raise SignatureError otherwise."""
    if len(payload) > MAX_PASS_BYTES:
        raise SignatureError(Reason.MALFORMED)
    try:
        token = payload.decode("ascii").strip()
    except UnicodeDecodeError:
        raise SignatureError(Reason.MALFORMED) from None
    signing_input, claims, signature = _parse(token)
    for index, key in enumerate(keys):
        try:
            key.verify(signature, signing_input)
            return claims, index
        except InvalidSignature:
            continue
    raise SignatureError(Reason.BAD_SIGNATURE, claims)
