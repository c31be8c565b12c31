"""The outbox quota measures what waits to be sent, not the database file: SQLite's write-ahead
log and free pages once made a drained outbox look full, and doorbell snapshots were dropped."""

from __future__ import annotations

from pathlib import Path

from edge.store.db import Database
from edge.store.outbox import Outbox


def on_disk(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def test_a_drained_backlog_counts_nothing_and_gives_its_disk_back(tmp_path: Path) -> None:
    path = tmp_path / "doorstep.sqlite"
    db = Database(path)
    outbox = Outbox(db)
    body = b"e" * 2000
    for _ in range(1500):  # 3 MB of events while the broker was away
        outbox.add_event("t/events", lambda seq: body)
    assert outbox.queued_bytes() == 1500 * 2000
    assert on_disk(path) > 3_000_000
    for entry in outbox.pending(0, 2000):  # the broker is back and acknowledges them all
        outbox.remove([entry.id])
    assert outbox.queued_bytes() == 0
    assert on_disk(path) < 1_200_000, "the drained outbox kept its high-water mark on disk"
    db.close()


def test_queued_photos_count_their_files_and_dropped_snapshots_stop_counting(tmp_path) -> None:
    db = Database(tmp_path / "doorstep.sqlite")
    outbox = Outbox(db)
    snapshot, photo = tmp_path / "s.jpg", tmp_path / "p.jpg"
    snapshot.write_bytes(b"s" * 30_000)
    photo.write_bytes(b"p" * 50_000)
    outbox.add_file("doorstep/porch-1/snapshots/s", snapshot)
    outbox.add_file("doorstep/porch-1/photos/D-1/p", photo)
    outbox.add_event("doorstep/porch-1/events", lambda seq: b"{}")
    assert outbox.queued_bytes() == 80_002
    assert outbox.drop_snapshots("doorstep/porch-1/snapshots/") == 1
    assert outbox.queued_bytes() == 50_002
    db.close()
    assert Outbox(Database(tmp_path / "doorstep.sqlite")).queued_bytes() == 50_002  # at start
