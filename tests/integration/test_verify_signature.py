"""Signature verification with real Ed25519 keys, including algorithm-confusion attacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.crypto.verify import MAX_PASS_BYTES, SignatureError, verify_signature

CLAIMS = {
    "iss": "cloud",
    "aud": "porch-1",
    "jti": "j-1",
    "iat": 1,
    "exp": 2,
    "cmd": "done",
    "delivery_id": "D-1",
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict, claims: object, signature: bytes = b"") -> bytes:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return f"{head}.{b64(signature)}".encode()


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def reason(payload: bytes, *keys: Ed25519PrivateKey) -> str:
    with pytest.raises(SignatureError) as caught:
        verify_signature(payload, [k.public_key() for k in keys])
    return caught.value.reason


def test_a_pass_signed_by_a_trusted_key_verifies(key: Ed25519PrivateKey) -> None:
    token = jwt.encode(CLAIMS, key, algorithm="EdDSA").encode()
    assert verify_signature(token, [key.public_key()]) == (CLAIMS, 0)


def test_any_of_several_trusted_keys_will_do(key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate()
    token = jwt.encode(CLAIMS, key, algorithm="EdDSA", headers={"kid": "k2"}).encode()
    assert verify_signature(token, [other.public_key(), key.public_key()]) == (CLAIMS, 1)


def test_an_untrusted_key_is_a_bad_signature_and_echoes_the_jti(key: Ed25519PrivateKey) -> None:
    token = jwt.encode(CLAIMS, Ed25519PrivateKey.generate(), algorithm="EdDSA").encode()
    with pytest.raises(SignatureError) as caught:
        verify_signature(token, [key.public_key()])
    assert caught.value.reason == "bad_signature"
    assert caught.value.claims["jti"] == "j-1"


def test_tampered_claims_are_a_bad_signature(key: Ed25519PrivateKey) -> None:
    head, _, signature = jwt.encode(CLAIMS, key, algorithm="EdDSA").split(".")
    forged = {**CLAIMS, "delivery_id": "D-2"}
    token = f"{head}.{b64(json.dumps(forged).encode())}.{signature}".encode()
    assert reason(token, key) == "bad_signature"


def test_alg_none_is_malformed(key: Ed25519PrivateKey) -> None:
    assert reason(compact({"alg": "none", "typ": "JWT"}, CLAIMS), key) == "malformed"


def test_hmac_with_the_public_key_as_secret_is_malformed(key: Ed25519PrivateKey) -> None:
    secret = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    unsigned = compact({"alg": "HS256", "typ": "JWT"}, CLAIMS).rsplit(b".", 1)[0]
    signature = hmac.new(secret, unsigned, hashlib.sha256).digest()
    assert reason(unsigned + b"." + b64(signature).encode(), key) == "malformed"


def test_unencoded_payload_option_is_refused(key: Ed25519PrivateKey) -> None:
    token = compact({"alg": "EdDSA", "b64": False, "crit": ["b64"]}, CLAIMS, b"x" * 64)
    assert reason(token, key) == "malformed"


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not a jwt",
        b"a.b",
        b"a.b.c.d",
        b"\xff\xfe\x00",
        b"!!!.???.***",
        compact({"alg": "EdDSA"}, ["a", "list"]),
        compact(["header"], CLAIMS),  # type: ignore[arg-type]
    ],
)
def test_shapes_that_are_not_a_jwt_are_malformed(payload: bytes, key: Ed25519PrivateKey) -> None:
    assert reason(payload, key) == "malformed"


def test_oversized_payload_is_malformed(key: Ed25519PrivateKey) -> None:
    big = {**CLAIMS, "pad": "x" * MAX_PASS_BYTES}
    assert reason(jwt.encode(big, key, algorithm="EdDSA").encode(), key) == "malformed"


def test_a_critical_header_extension_is_malformed(key: Ed25519PrivateKey) -> None:
    token = jwt.encode(CLAIMS, key, algorithm="EdDSA", headers={"crit": ["exp"]}).encode()
    assert reason(token, key) == "malformed"


def test_characters_outside_base64url_are_malformed_not_ignored(key: Ed25519PrivateKey) -> None:
    head, claims, signature = jwt.encode(CLAIMS, key, algorithm="EdDSA").split(".")
    assert reason(f"{head}.{claims}.{signature[:10]}!{signature[10:]}".encode(), key) == "malformed"
    assert verify_signature(f"{head}.{claims}.{signature}".encode(), [key.public_key()]) == (
        CLAIMS,
        0,
    )
