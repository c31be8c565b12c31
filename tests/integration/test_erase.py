"""Erasing a delivery's photos (docs/protocol.md §9) is for real: the files, every outbox row
that would still send one, and a `photo.erased` event for the cloud; while the daemon runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.cli import main
from edge.contract.topics import Topics
from edge.domain.model import Emit, EventType
from edge.store.db import open_store
from edge.store.erase import BadDeliveryId, erase_delivery
from edge.store.history import DeliveryHistory
from edge.store.notes import Notes
from edge.store.outbox import Outbox
from edge.store.photos import PhotoStore

TOPICS = Topics("doorstep", "porch-1")


def test_erase_takes_the_files_and_whatever_would_still_send_them(tmp_path: Path) -> None:
    photos = PhotoStore(tmp_path / "photos")
    shared = photos.save("p1", "D-1", b"one")
    private = photos.save("p2", "D-1", b"two", private=True)
    other = photos.save("p3", "D-2", b"three")
    db = open_store(tmp_path)
    outbox = Outbox(db)
    outbox.add_file(TOPICS.photo("D-1", "p1"), shared)
    outbox.add_file("https://cloud.example/D-1/p1.jpg", shared, channel="http")
    with db.transaction() as conn:
        Outbox.queue_retained(conn, TOPICS.image_latest, file=shared)
    outbox.add_file(TOPICS.photo("D-2", "p3"), other)
    db.close()

    assert erase_delivery(tmp_path, TOPICS, "D-1") == ["p1.jpg", "p2.jpg"]
    assert not shared.exists() and not private.exists() and other.exists()
    assert not (tmp_path / "photos" / "deliveries" / "D-1").exists()
    assert not (tmp_path / "photos" / "private" / "D-1").exists()
    db = open_store(tmp_path)
    rows = Outbox(db).pending(0, 10) + Outbox(db).pending(0, 10, channel="http")
    assert [r.topic for r in rows] == [
        TOPICS.photo("D-2", "p3"),
        TOPICS.events,
        TOPICS.image_latest,
    ]
    assert rows[2].file == other  # the erased latest image gives way to the newest left
    assert rows[1].payload is not None
    erased = json.loads(rows[1].payload)
    assert (erased["type"], erased["delivery_id"], erased["photo_ids"]) == (
        "photo.erased",
        "D-1",
        ["p1", "p2"],
    )
    db.close()
    assert erase_delivery(tmp_path, TOPICS, "D-1") == []  # nothing left: nothing said


def test_erasing_the_only_photos_clears_the_retained_latest_image(tmp_path: Path) -> None:
    # Before, the broker (and Home Assistant) kept showing the erased photo.
    PhotoStore(tmp_path / "photos").save("p1", "D-1", b"one")
    assert erase_delivery(tmp_path, TOPICS, "D-1") == ["p1.jpg"]
    db = open_store(tmp_path)
    try:
        latest = [r for r in Outbox(db).pending(0, 10) if r.topic == TOPICS.image_latest]
    finally:
        db.close()
    assert [(r.payload, r.file, r.retain) for r in latest] == [(b"", None, True)]


@pytest.mark.parametrize("bad", ["../../victim", "D-1/../../x", "", "x" * 65, "D 1"])
def test_a_delivery_id_that_is_a_path_erases_nothing(tmp_path: Path, bad: str) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.jpg").write_bytes(b"mine")
    data = tmp_path / "data"
    PhotoStore(data / "photos").save("p1", "D-1", b"one")
    with pytest.raises(BadDeliveryId):
        erase_delivery(data, TOPICS, bad)
    assert (victim / "keep.jpg").exists()
    status = main(["photos", "erase", "--delivery", bad, "--config", "/nonexistent.toml"])
    assert status == 2 and (victim / "keep.jpg").exists()


def test_the_last_delivery_names_no_erased_photo(tmp_path: Path) -> None:
    # Before, the retained last_delivery still listed the erased photos' ids.
    photos = PhotoStore(tmp_path / "photos")
    photos.save("p1", "D-1", b"one")
    db = open_store(tmp_path)
    notes = Notes(photos=[{"photo_id": "p1"}, {"photo_id": "p-kept-elsewhere"}])
    completed = Emit(
        EventType.DELIVERY_COMPLETED, "D-1", {"outcome": "delivered", "mode": "doorstep"}
    )
    with db.transaction() as conn:
        DeliveryHistory.add(conn, completed, notes, 1.8e9)
        conn.execute("INSERT INTO settings (name, value) VALUES ('receipts', '7')")
    db.close()
    erase_delivery(tmp_path, TOPICS, "D-1")
    db = open_store(tmp_path)
    try:
        [last] = [r for r in Outbox(db).pending(0, 10) if r.topic == TOPICS.last_delivery]
    finally:
        db.close()
    assert last.payload is not None
    body = json.loads(last.payload)
    assert last.retain and body["photos"] == ["p-kept-elsewhere"]
    assert (body["delivery_id"], body["outcome"], body["receipt"]) == ("D-1", "delivered", 7)
    assert body["ts"].startswith("2027-01-15")  # the completion's time, not the erasure's
