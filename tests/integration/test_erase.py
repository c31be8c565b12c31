"""Erasing a delivery's photos (docs/protocol.md §9) is for real: the files, every outbox row
that would still send one, and a `photo.erased` event for the cloud; while the daemon runs."""

from __future__ import annotations

import json
from pathlib import Path

from edge.store.db import open_store
from edge.store.erase import erase_delivery
from edge.store.outbox import Outbox
from edge.store.photos import PhotoStore
from edge.transport.topics import Topics

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

    assert erase_delivery(tmp_path, TOPICS, "D-1") == ["p1", "p2"]
    assert not shared.exists() and not private.exists() and other.exists()
    assert not (tmp_path / "photos" / "deliveries" / "D-1").exists()
    assert not (tmp_path / "photos" / "private" / "D-1").exists()
    db = open_store(tmp_path)
    rows = Outbox(db).pending(0, 10) + Outbox(db).pending(0, 10, channel="http")
    assert [r.topic for r in rows] == [TOPICS.photo("D-2", "p3"), TOPICS.events]
    erased = json.loads(rows[1].payload)
    assert (erased["type"], erased["delivery_id"], erased["photo_ids"]) == (
        "photo.erased", "D-1", ["p1", "p2"])
    db.close()
    assert erase_delivery(tmp_path, TOPICS, "D-1") == []  # nothing left: nothing said
