"""The outbox quota measures what waits to be sent, not the database file: SQLite's write-ahead
log and free pages once made a drained outbox look full, and doorbell snapshots were dropped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge.store.outbox import Outbox


def on_disk(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def test_a_drained_backlog_counts_nothing_and_gives_its_disk_back(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path)
    body = b"e" * 2000
    ids = []
    for _ in range(1500):  # 3 MB of events while the broker was away
        outbox.add_event("t/events", lambda seq: body)
    ids = [entry.id for entry in outbox.pending(0, 2000)]
    assert outbox.queued_bytes() == 1500 * 2000
    assert on_disk(path) > 3_000_000
    for entry_id in ids:  # the broker is back and acknowledges them all
        outbox.remove(entry_id)
    assert outbox.queued_bytes() == 0
    assert on_disk(path) < 1_200_000, "the drained outbox kept its high-water mark on disk"
    outbox.close()


def test_queued_photos_count_their_files_and_dropped_snapshots_stop_counting(tmp_path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    snapshot, photo = tmp_path / "s.jpg", tmp_path / "p.jpg"
    snapshot.write_bytes(b"s" * 30_000)
    photo.write_bytes(b"p" * 50_000)
    outbox.add_file("doorstep/porch-1/snapshots/s", snapshot)
    outbox.add_file("doorstep/porch-1/photos/D-1/p", photo)
    outbox.add_event("doorstep/porch-1/events", lambda seq: b"{}")
    assert outbox.queued_bytes() == 80_002
    assert outbox.drop_snapshots("doorstep/porch-1/snapshots/") == 1
    assert outbox.queued_bytes() == 50_002
    outbox.close()
    assert Outbox(tmp_path / "outbox.sqlite").queued_bytes() == 50_002  # counted again at start


def test_an_outbox_from_before_the_byte_count_is_migrated(tmp_path: Path) -> None:
    path, photo = tmp_path / "outbox.sqlite", tmp_path / "p.jpg"
    photo.write_bytes(b"p" * 700)
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,
            payload BLOB, file TEXT, created REAL NOT NULL, channel TEXT NOT NULL DEFAULT 'mqtt');
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO counters VALUES ('event_seq', 41);
    """)
    old.execute("INSERT INTO outbox (topic, payload, created) VALUES ('t', ?, 1)", (b"x" * 300,))
    old.execute("INSERT INTO outbox (topic, file, created) VALUES ('t/p', ?, 2)", (str(photo),))
    old.commit()
    old.close()
    outbox = Outbox(path)
    assert outbox.queued_bytes() == 1000
    assert outbox.add_event("t", lambda seq: b"y") == 42  # seq carries on
    assert [e.topic for e in outbox.pending(0, 10)] == ["t", "t/p", "t"]
