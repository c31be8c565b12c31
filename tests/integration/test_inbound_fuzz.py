"""Every parser of broker input, fed junk by hypothesis: it answers with a rejection, never an
exception (an exception in the core loses the input and says nothing to the cloud)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.domain.model import PassRejected, PassVerified
from edge.domain.passes import PassPolicy, Signer
from edge.loop.intake import PassIntake, screen
from edge.store.db import Database
from edge.store.replay import ReplayStore
from simulator.cloud import mint

NAMES = st.one_of(st.sampled_from(["arriving", "at_door", "done", "cancel"]), st.text(max_size=80))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
CLAIM_NAMES = [
    "iss",
    "aud",
    "jti",
    "iat",
    "exp",
    "nbf",
    "cmd",
    "delivery_id",
    "mode",
    "courier",
    "confidential",
]
CLAIMS = st.dictionaries(st.sampled_from(CLAIM_NAMES) | st.text(max_size=8), JSON, max_size=12)
FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def intake(tmp_path: Path, cloud_keys: Any) -> PassIntake:
    return PassIntake(
        [(cloud_keys.private.public_key(), Signer("cloud"))],
        PassPolicy("porch-1"),
        ReplayStore(Database(tmp_path / "doorstep.sqlite")),
        lambda: True,
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(key: Any, header: bytes, claims: bytes) -> bytes:
    """A compact JWS over raw header and claims bytes, validly signed: it gets past the
    signature check, so the claim rules see it."""
    signing_input = f"{b64(header)}.{b64(claims)}".encode()
    return signing_input + b"." + b64(key.sign(signing_input)).encode()


@FUZZ
@given(name=NAMES, payload=st.binary(max_size=600))
def test_any_bytes_on_any_command_topic_are_rejected_not_raised(intake, name, payload) -> None:
    assert isinstance(intake.admit(name, payload, time.time()), PassRejected)


@FUZZ
@given(name=NAMES, claims=CLAIMS, header=st.dictionaries(st.text(max_size=8), JSON, max_size=3))
def test_signed_passes_with_any_claims_never_raise(
    intake, cloud_keys, name, claims, header
) -> None:
    token = signed(
        cloud_keys.private,
        json.dumps({"alg": "EdDSA", **header}).encode(),
        json.dumps(claims).encode(),
    )
    assert isinstance(intake.admit(name, token, time.time()), (PassRejected, PassVerified))


@pytest.mark.parametrize("where", ["header", "claims"])
def test_json_nested_thousands_deep_is_malformed(intake, cloud_keys, where) -> None:
    deep = b"[" * 1500 + b"]" * 1500  # deeper than the JSON parser's stack, under the size cap
    header = b'{"alg": "EdDSA", "x": ' + deep + b"}" if where == "header" else b'{"alg": "EdDSA"}'
    claims = b'{"jti": "deep-1", "x": ' + deep + b"}" if where == "claims" else b'{"jti": "d"}'
    result = intake.admit("done", signed(cloud_keys.private, header, claims), time.time())
    assert isinstance(result, PassRejected) and result.rejection.reason == "malformed"


def test_a_pass_over_the_size_cap_is_malformed_before_it_is_parsed(intake, cloud_keys) -> None:
    token = jwt.encode({"jti": "big", "pad": "x" * 4096}, cloud_keys.private, algorithm="EdDSA")
    result = intake.admit("done", token.encode(), time.time())
    assert isinstance(result, PassRejected) and result.rejection.reason == "malformed"
    assert result.rejection.jti is None  # nothing of it was read


@FUZZ
@given(name=NAMES, payload=st.binary(max_size=600))
def test_what_the_screen_turns_away_the_full_checks_would_reject_the_same(
    intake, name, payload
) -> None:
    """The broker link tallies junk without parsing it; that shortcut never hides a pass."""
    screened = screen(name, payload)
    if screened is not None:
        result = intake.admit(name, payload, time.time())
        assert isinstance(result, PassRejected) and result.rejection.reason == screened


def test_a_real_pass_is_never_screened_out(cloud_keys) -> None:

    for cmd in ("arriving", "at_door", "done", "cancel"):
        token = mint(cloud_keys.private, cmd, device_id="porch-1", delivery_id="D-1")
        assert screen(cmd, token.encode()) is None


@FUZZ
@given(
    cmd=st.sampled_from(["arriving", "at_door", "done", "cancel"]),
    extra=st.dictionaries(
        st.sampled_from(["mode", "courier", "confidential", "nbf", "x"]), JSON, max_size=4
    ),
)
def test_valid_passes_with_any_extra_claims_never_raise(intake, cloud_keys, cmd, extra) -> None:
    """Claims a command does not use (a courier on at_door, say) must not trip the checks."""
    now = time.time()
    claims = {
        "iss": "cloud",
        "aud": "porch-1",
        "jti": "j-extra",
        "iat": now,
        "exp": now + 60,
        "cmd": cmd,
        "delivery_id": "D-1",
        "mode": "doorstep",
        "courier": {"id": "c", "name": "n"},
        **extra,
    }
    token = jwt.encode(claims, cloud_keys.private, algorithm="EdDSA")
    assert isinstance(intake.admit(cmd, token.encode(), now), (PassRejected, PassVerified))
