"""Signed receipts (docs/protocol.md §9) from the ledger itself: every event of a delivery is
listed with the sha256 of the exact bytes queued for it, every photo with its hash and frame,
the receipt is signed with the device's key and chained to the one before; a tampered receipt,
a swapped photo and a missing link are each named by the checker."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from edge.cli import main
from edge.contract.topics import Topics
from edge.crypto.device_key import load_or_create, public_pem
from edge.domain.model import Emit, EventType, Now, Record, Retain
from edge.store.db import Database
from edge.store.ledger import Ledger
from edge.store.outbox import Outbox
from edge.store.receipts import Receipts
from edge.wiring import open_stores
from simulator.daemon import write_sim_config
from simulator.receipts import verify_receipts

TOPICS = Topics("doorstep", "porch-1")
COURIER = {"id": "c7", "name": "Sam"}


@pytest.fixture
def setup(tmp_path: Path):
    stores = open_stores(tmp_path)
    key = load_or_create(tmp_path)
    ledger = stores.ledger(TOPICS, lambda share: ("", tmp_path, "mqtt"), Receipts(key, "porch-1"))
    return stores.db, ledger, public_pem(key).encode()


def deliver(ledger: Ledger, delivery_id: str, photo: bytes, wall: float) -> None:
    now = Now(wall, 1.0)
    for emit in (
        Emit(
            EventType.DELIVERY_ARRIVING,
            delivery_id,
            {"mode": "doorstep", "courier": COURIER, "confidential": False},
        ),
        Emit(
            EventType.DELIVERY_PHOTO,
            delivery_id,
            {
                "photo_id": f"{delivery_id}-p",
                "sha256": hashlib.sha256(photo).hexdigest(),
                "bytes": len(photo),
                "captured_at": "2026-11-29T01:00:00.000Z",
                "local_only": False,
                "purpose": "confirmation",
                "frame": 42,
                "sensor_ns": 4200,
            },
        ),
        Emit(
            EventType.DELIVERY_COMPLETED,
            delivery_id,
            {"outcome": "delivered", "mode": "doorstep", "photos": [f"{delivery_id}-p"]},
        ),
    ):
        last = (Retain("last_delivery", {"delivery_id": delivery_id, "outcome": "delivered"}),)
        ledger.commit(
            Record(
                events=(emit,), retained=last if emit.type is EventType.DELIVERY_COMPLETED else ()
            ),
            now,
        )


def queued(db: Database) -> list[tuple[str, bytes]]:
    """(topic, payload) of what waits to be sent; a file's payload is empty here."""
    return [(e.topic, e.payload or b"") for e in Outbox(db).pending(0, 100)]


def test_a_completed_delivery_is_signed_listing_the_exact_bytes_of_its_events(setup) -> None:
    db, ledger, key = setup
    deliver(ledger, "D-1", b"jpeg one", 1.8e9)
    rows = queued(db)
    events = [payload for topic, payload in rows if topic == TOPICS.events]
    [(topic, receipt)] = [(t, p) for t, p in rows if "/receipts/" in t]
    assert topic == "doorstep/porch-1/receipts/D-1"
    verdict = verify_receipts(key, [receipt.decode()])
    assert verdict.ok, verdict.problems
    body = verdict.receipts[0]
    assert (body["device_id"], body["delivery_id"], body["mode"], body["outcome"]) == (
        "porch-1",
        "D-1",
        "doorstep",
        "delivered",
    )
    assert body["courier"] == COURIER and body["prev"] is None
    assert body["events"] == [
        {"id": json.loads(e)["id"], "sha256": hashlib.sha256(e).hexdigest()} for e in events
    ]
    assert body["photos"] == [
        {
            "photo_id": "D-1-p",
            "sha256": hashlib.sha256(b"jpeg one").hexdigest(),
            "captured_at": "2026-11-29T01:00:00.000Z",
            "purpose": "confirmation",
            "frame": 42,
            "local_only": False,
        }
    ]
    assert body["number"] == 1


def test_receipts_chain_and_the_checker_names_each_kind_of_forgery(setup, tmp_path) -> None:
    db, ledger, key = setup
    deliver(ledger, "D-1", b"jpeg one", 1.8e9)
    deliver(ledger, "D-2", b"jpeg two", 1.8e9 + 60)
    deliver(ledger, "D-3", b"jpeg three", 1.8e9 + 120)
    receipts = [p.decode() for t, p in queued(db) if "/receipts/" in t]
    photos = tmp_path / "photos-received"
    photos.mkdir()
    for delivery_id, data in (("D-1", b"jpeg one"), ("D-2", b"jpeg two"), ("D-3", b"jpeg three")):
        (photos / f"{delivery_id}-p.jpg").write_bytes(data)
    assert verify_receipts(key, receipts, photos).ok
    assert verify_receipts(key, receipts, photos).photos_checked == 3
    assert (
        json.loads(_payload(receipts[1]))["prev"]
        == hashlib.sha256(receipts[0].encode()).hexdigest()
    )

    head, body, signature = receipts[1].split(".")
    forged = json.loads(_payload(receipts[1]))
    forged["outcome"] = "not_entered"
    tampered = f"{head}.{_b64(json.dumps(forged).encode())}.{signature}"
    assert "signature does not verify" in verify_receipts(key, [receipts[0], tampered]).problems[0]

    (photos / "D-2-p.jpg").write_bytes(b"another picture")
    assert "D-2-p is not the photo" in verify_receipts(key, receipts, photos).problems[0]
    assert "chain is broken" in verify_receipts(key, [receipts[0], receipts[2]]).problems[0]


def test_a_receipt_taken_from_the_start_the_middle_or_the_end_shows(setup, tmp_path) -> None:
    # Before, dropping the first or the last receipt left a chain that checked ok.
    db, ledger, key = setup
    for n in range(4):
        deliver(ledger, f"D-{n}", b"jpeg %d" % n, 1.8e9 + 60 * n)
    receipts = [p.decode() for t, p in queued(db) if "/receipts/" in t]
    last = [json.loads(p) for t, p in queued(db) if t.endswith("/last_delivery")][-1]
    assert [json.loads(_payload(r))["number"] for r in receipts] == [1, 2, 3, 4]
    assert last["receipt"] == 4
    assert verify_receipts(key, receipts, from_first=True, last_number=4).ok
    assert (
        "receipts 1 to 1 are missing"
        in verify_receipts(key, receipts[1:], from_first=True, last_number=4).problems[0]
    )
    assert (
        "receipts 4 to 4 are missing"
        in verify_receipts(key, receipts[:3], from_first=True, last_number=4).problems[0]
    )
    middle = verify_receipts(key, [receipts[0], receipts[2], receipts[3]]).problems
    assert any("receipts 2 to 2 are missing" in problem for problem in middle)


def test_the_checker_names_each_photo_it_was_not_given(setup, tmp_path) -> None:
    db, ledger, key = setup
    deliver(ledger, "D-1", b"jpeg one", 1.8e9)
    receipts = [p.decode() for t, p in queued(db) if "/receipts/" in t]
    empty = tmp_path / "none-received"
    empty.mkdir()
    verdict = verify_receipts(key, receipts, empty)
    assert not verdict.ok and "photo D-1-p is missing" in verdict.problems[0]


def _payload(token: str) -> bytes:
    body = token.split(".")[1]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("command", [["run"], ["device-key"]])
def test_a_device_key_that_cannot_be_read_is_one_line_with_what_to_do(
    tmp_path: Path, cloud_keys, capsys, command: list[str]
) -> None:
    """A damaged device key (a bad card, a hand edit): no traceback, and the lock is not the
    worse for it; the line says how to go on."""
    config = write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-key",
        port=1,
        trusted_key=cloud_keys.public,
        data_dir=tmp_path / "data",
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "device_key.pem").write_text("garbage\n")
    assert main([*command, "--config", str(config)]) == 1
    said = capsys.readouterr().err
    assert said.startswith("doorstep: ") and said.count("\n") == 1, said
    assert "device_key.pem is not a PEM private key: restore it from a backup" in said
