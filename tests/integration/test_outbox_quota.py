"""The outbox quota measures what waits to be sent, not the database file: SQLite's write-ahead
log and free pages once made a drained outbox look full, and doorbell snapshots were dropped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge.domain.model import Now, State
from edge.housekeeping import Housekeeper
from edge.inbox import Inbox
from edge.store.db import Database
from edge.store.outbox import Outbox
from edge.store.photos import PhotoStore
from edge.store.replay import ReplayStore


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


def test_a_quota_check_that_keeps_failing_is_said_once_a_minute_with_a_count(
        tmp_path: Path, caplog) -> None:
    """Checked at every one-second Tick: a full disk must not write 3,600 lines an hour."""
    db = Database(tmp_path / "doorstep.sqlite")

    class FullDisk(Outbox):
        def drop_snapshots(self, topic_prefix: str) -> int:
            raise sqlite3.OperationalError("database or disk is full")

    outbox = FullDisk(db)
    outbox.add_event("doorstep/porch-1/events", lambda seq: b"e" * 2000)
    keeper = Housekeeper(
        inbox=Inbox(), db=db, outbox=outbox, replay=ReplayStore(db),
        photos=PhotoStore(tmp_path / "photos"), clock_synced=lambda: True, device_id="porch-1",
        snapshot_prefix="doorstep/porch-1/snapshots/", outbox_quota_bytes=1000,
        clock_skew_s=30, history_retention_s=86400)
    for second in range(121):
        keeper.on_tick(State(), Now(wall=1e9 + second, mono=float(second)))
    said = [r.getMessage() for r in caplog.records if "outbox_quota_check_failed" in r.getMessage()]
    assert [line.split(" failures=")[1].split()[0] for line in said] == ["1", "60", "60"]
    assert all('fix="free space' in line for line in said)
    db.close()
