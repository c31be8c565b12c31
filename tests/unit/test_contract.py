"""docs/contract/: the committed files are what the code generates, the schemas reject what the
contract forbids, the pass-claims schema accepts exactly what the device's parser does, and the
AsyncAPI document is valid by the official AsyncAPI 3.0 schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from edge.contract import lifecycle
from edge.contract.__main__ import files
from edge.contract.schemas import Contract, ContractError
from edge.domain.passes import _well_formed

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = Contract()
# Fetched by `make test` with npm where npm is installed (the Makefile's asyncapi-schema step).
ASYNCAPI_SCHEMA = ROOT / ".venv" / "asyncapi-3.0.0.schema.json"

EVENT = {
    "id": "e1",
    "seq": 7,
    "ts": "2026-11-28T12:00:00.000Z",
    "type": "delivery.arriving",
    "device_id": "porch-1",
    "delivery_id": "D-1",
    "mode": "in_home",
    "courier": {"id": "c-9", "name": "Sam"},
    "confidential": False,
}


@pytest.mark.parametrize("name, text", sorted(files().items()))
def test_the_committed_contract_is_what_the_code_generates(name: str, text: str) -> None:
    committed = ROOT / "docs" / "contract" / name
    assert committed.is_file() and committed.read_text(encoding="utf-8") == text, (
        f"docs/contract/{name} is out of date: run make contract"
    )


def test_the_lifecycle_diagram_is_drawn_from_the_machines_table() -> None:
    document = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    assert lifecycle.render() in document, "the lifecycle in docs/protocol.md: make contract"
    assert lifecycle.updated(document) == document


def test_a_well_formed_event_passes() -> None:
    CONTRACT.check("event", EVENT)


@pytest.mark.parametrize(
    "change",
    [
        {"seq": ...},  # every event has its seq
        {"seq": 0},
        {"type": "delivery.teleported"},
        {"mode": "drone"},
        {"delivery_id": "D-1\n"},  # a trailing newline is not an id, in any regex dialect
        {"ts": "yesterday"},
        {"extra": 1},  # a field the contract does not name
        {"courier": {"id": "c-9"}},
    ],
)
def test_an_event_that_breaks_the_contract_is_rejected(change: dict[str, Any]) -> None:
    event = {k: v for k, v in {**EVENT, **change}.items() if v is not ...}
    with pytest.raises(ContractError):
        CONTRACT.check("event", event)


def test_a_rejection_names_what_is_wrong() -> None:
    errors = CONTRACT.errors("event", {k: v for k, v in EVENT.items() if k != "seq"})
    assert errors and all("seq" in error for error in errors)


# --- the pass-claims schema and the device's parser agree ---------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["D-1", "D-1\n", "", "x" * 65, "in_home", "arriving"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
BASE = {
    "iss": "cloud",
    "aud": "porch-1",
    "jti": "j-1",
    "iat": 1.8e9,
    "exp": 1.8e9 + 60,
    "delivery_id": "D-1",
    "mode": "doorstep",
    "courier": {"id": "c", "name": "Sam"},
    "confidential": True,
    "nbf": 1.8e9,
}
KEYS = [*BASE, "cmd", "other"]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["arriving", "at_door", "done", "cancel"]),
    st.sampled_from(["arriving", "at_door", "done", "cancel", "open"]),
    st.dictionaries(st.sampled_from(KEYS), json_values | st.just(...), max_size=4),
)
def test_the_pass_claims_schema_accepts_exactly_what_the_device_parses(
    topic: str, cmd: str, changes: dict[str, Any]
) -> None:
    claims = {k: v for k, v in {**BASE, "cmd": cmd, **changes}.items() if v is not ...}
    by_schema = not CONTRACT.errors("pass-claims", claims) and claims.get("cmd") == topic
    assert by_schema == _well_formed(claims, topic), claims


# --- AsyncAPI -----------------------------------------------------------------------------


def test_the_asyncapi_document_is_valid_by_the_official_schema() -> None:
    if not ASYNCAPI_SCHEMA.is_file():
        pytest.skip("the official AsyncAPI 3.0 schema was not fetched (npm not installed)")
    official = json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8"))
    document = json.loads(files()["asyncapi.json"])
    errors = [
        f"{list(e.absolute_path)}: {e.message[:200]}"
        for e in Draft7Validator(official).iter_errors(document)
    ]
    assert errors == []
    broken = {**document, "operations": {"x": {"action": "publish", "channel": {}}}}
    assert list(Draft7Validator(official).iter_errors(broken)), "the check must be able to fail"


def test_every_topic_of_the_protocol_has_a_channel() -> None:
    addresses = {
        channel["address"] for channel in json.loads(files()["asyncapi.json"])["channels"].values()
    }
    for suffix in (
        "cmd/{command}",
        "availability",
        "state",
        "events",
        "last_delivery",
        "image/latest",
        "device_key",
        "receipts/{delivery_id}",
        "owner/lock",
        "owner/in_home",
        "owner/snapshot",
        "sim/door",
        "sim/parcel",
        "photos/{delivery_id}/{photo_id}",
        "snapshots/{photo_id}",
    ):
        assert f"{{prefix}}/{{device_id}}/{suffix}" in addresses
