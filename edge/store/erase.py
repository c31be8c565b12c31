"""Erasing a delivery's photos and clips for real (docs/protocol.md §9): the local files, any
outbox row that would still send one, the retained messages that show or name them
(`image/latest`, and `last_delivery` when it is this delivery's), and a `photo.erased` event
that tells the cloud, all from a process of its own while the daemon runs (the database is
shared; the daemon's photo index forgets files it no longer finds)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from edge.contract.events import render_event, render_retained
from edge.contract.topics import Topics
from edge.domain.model import Emit, EventType
from edge.domain.passes import ID_PATTERN
from edge.store.db import open_store
from edge.store.outbox import Outbox
from edge.store.receipts import issued


class BadDeliveryId(ValueError):
    """Not a delivery id as the wire allows them: never a path (`../../victim`)."""


def erase_delivery(data_dir: Path, topics: Topics, delivery_id: str) -> list[str]:
    """Erase the photos and clips of ``delivery_id``; returns the files' names that were
    erased (`{photo_id}.jpg`, then `{clip_id}.mp4`)."""
    if not ID_PATTERN.fullmatch(delivery_id):
        raise BadDeliveryId(f"{delivery_id!r} is no delivery id: 1 to 64 of A-Z a-z 0-9 _ -")
    photos = data_dir / "photos"
    folders = [photos / kind / delivery_id for kind in ("deliveries", "private")]
    files = sorted(f for folder in folders if folder.is_dir() for f in folder.glob("*.jpg"))
    clips = sorted(f for folder in folders if folder.is_dir() for f in folder.glob("*.mp4"))
    photo_ids, clip_ids = [f.stem for f in files], [f.stem for f in clips]
    db = open_store(data_dir)
    try:
        with db.transaction() as conn:
            for file in files + clips:  # nothing may send them once they are gone
                conn.execute("DELETE FROM outbox WHERE file = ?", (str(file),))
            if photo_ids or clip_ids:
                emit = Emit(
                    EventType.PHOTO_ERASED,
                    delivery_id,
                    {"photo_ids": photo_ids, "clip_ids": clip_ids},
                )
                Outbox.queue_event(
                    conn,
                    topics.events,
                    lambda seq: render_event(emit, seq, topics.device_id, time.time()),
                )
                # The retained image/latest may be one of them: the broker (and Home Assistant)
                # would keep showing it. It becomes the newest photo left, or nothing.
                newest = _newest_shared(photos, set(files))
                Outbox.queue_retained(
                    conn, topics.image_latest, payload=None if newest else b"", file=newest
                )
                _last_delivery_without(conn, topics, delivery_id, set(photo_ids))
    finally:
        db.close()
    for file in files + clips:
        file.unlink(missing_ok=True)
    for folder in folders:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return [f.name for f in files + clips]


def _last_delivery_without(
    conn: sqlite3.Connection, topics: Topics, delivery_id: str, erased: set[str]
) -> None:
    """When the retained `last_delivery` is this delivery's, it is published again without
    the erased photos' ids (as it was made at the completion: from the history, with the
    receipt's number, the completion's time)."""
    latest = conn.execute(
        "SELECT delivery_id, completed, body FROM history ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if latest is None or latest[0] != delivery_id:
        return
    body = json.loads(latest[2])
    fields = {
        "delivery_id": delivery_id,
        "mode": body["mode"],
        "outcome": body["outcome"],
        "photos": [p["photo_id"] for p in body["photos"] if p["photo_id"] not in erased],
    }
    if body.get("parcel_visible") is not None:
        fields["parcel_visible"] = body["parcel_visible"]
    count = issued(conn)  # its receipt was issued with it: the latest one
    if count:
        fields["receipt"] = count
    Outbox.queue_retained(conn, topics.last_delivery, render_retained(fields, latest[1]))


def _newest_shared(photos: Path, leaving: set[Path]) -> Path | None:
    """The newest photo that may be shown (never a confidential delivery's), but ``leaving``;
    photo ids begin with their capture time, so the greatest name is the newest."""
    found = [*photos.glob("snapshots/*.jpg"), *photos.glob("deliveries/*/*.jpg")]
    kept = [path for path in found if path not in leaving]
    return max(kept, key=lambda path: path.stem, default=None)
