"""Erasing a delivery's photos for real (docs/protocol.md §9): the local files, any outbox row
that would still send one (the retained `image/latest` included), and a `photo.erased` event
that tells the cloud, all from a process of its own while the daemon runs (the database is
shared; the daemon's photo index forgets files it no longer finds)."""

from __future__ import annotations

import time
from pathlib import Path

from edge.domain.model import Emit, EventType
from edge.events import render_event
from edge.store.db import open_store
from edge.store.outbox import Outbox
from edge.transport.topics import Topics


def erase_delivery(data_dir: Path, topics: Topics, delivery_id: str) -> list[str]:
    """Erase the photos of ``delivery_id``; returns the photo ids that were erased."""
    folders = [data_dir / "photos" / kind / delivery_id for kind in ("deliveries", "private")]
    files = sorted(f for folder in folders if folder.is_dir() for f in folder.glob("*.jpg"))
    photo_ids = [f.stem for f in files]
    db = open_store(data_dir)
    try:
        with db.transaction() as conn:
            for file in files:  # nothing may send them once they are gone
                conn.execute("DELETE FROM outbox WHERE file = ?", (str(file),))
            if photo_ids:
                emit = Emit(EventType.PHOTO_ERASED, delivery_id, {"photo_ids": photo_ids})
                Outbox.queue_event(conn, topics.events, lambda seq: render_event(
                    emit, seq, topics.device_id, time.time()))
    finally:
        db.close()
    for file in files:
        file.unlink(missing_ok=True)
    for folder in folders:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return photo_ids
