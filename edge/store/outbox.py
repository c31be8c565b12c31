"""The disk outbox: events and photos wait here until the broker (or the upload server)
acknowledges them.

Events are stored inline with their `seq`, which a counter in the same database hands out, so
it keeps increasing across restarts. Photos are files (written by PhotoStore) referenced by
path. Each row has a channel: "mqtt" rows carry a topic and go through the MQTT pump, "http"
rows carry an upload URL and go through the photo uploader. Rows leave only through
``remove``, on PUBACK or a 2xx answer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edge.store.sqlite import open_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB,
    file TEXT,
    created REAL NOT NULL,
    channel TEXT NOT NULL DEFAULT 'mqtt'
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters (name, value) VALUES ('event_seq', 0);
"""


@dataclass(frozen=True)
class Entry:
    id: int
    topic: str
    payload: bytes | None
    file: Path | None

    def body(self) -> bytes:
        if self.payload is not None:
            return self.payload
        assert self.file is not None
        return self.file.read_bytes()


@dataclass(frozen=True)
class Backlog:
    count: int
    oldest_age_s: float | None
    bytes: int = 0  # events inline plus photo files still waiting
    photos: int = 0


class Outbox:
    def __init__(self, path: Path) -> None:
        self._db = open_db(path, SCHEMA)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def on_added(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    def add_event(self, topic: str, render: Callable[[int], bytes]) -> int:
        """Take the next `seq`, store ``render(seq)`` under it, and return the seq."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq = self._db.execute(
                    "UPDATE counters SET value = value + 1 WHERE name = 'event_seq' RETURNING value"
                ).fetchone()[0]
                self._db.execute("INSERT INTO outbox (topic, payload, created) VALUES (?, ?, ?)",
                                 (topic, render(seq), time.time()))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._notify()
        return seq

    def add_file(self, target: str, file: Path, channel: str = "mqtt") -> None:
        """Queue a stored photo for ``target``: an MQTT topic, or an upload URL."""
        with self._lock:
            self._db.execute(
                "INSERT INTO outbox (topic, file, created, channel) VALUES (?, ?, ?, ?)",
                (target, str(file), time.time(), channel))
        self._notify()

    def pending(self, after_id: int, limit: int, channel: str = "mqtt") -> list[Entry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, file FROM outbox WHERE id > ? AND channel = ? "
                "ORDER BY id LIMIT ?", (after_id, channel, limit)).fetchall()
        return [Entry(i, t, p, Path(f) if f else None) for i, t, p, f in rows]

    def pending_files(self) -> set[str]:
        """Photo files not yet delivered: the photo store must not delete these."""
        with self._lock:
            return {f for (f,) in self._db.execute(
                "SELECT file FROM outbox WHERE file IS NOT NULL")}

    def size_bytes(self) -> int:
        """The database on disk, its write-ahead log included."""
        path = Path(self._db.execute("PRAGMA database_list").fetchone()[2])
        return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal"))
                   if p.exists())

    def drop_snapshots(self, topic_prefix: str) -> int:
        """Forget queued doorbell snapshots (MQTT topics starting with ``topic_prefix``): the
        first thing to go when the outbox is over its quota. Events and delivery photos are
        never dropped. An exact prefix, not LIKE: `_` in a device id would be a wildcard."""
        with self._lock:
            return self._db.execute(
                "DELETE FROM outbox WHERE channel = 'mqtt' AND substr(topic, 1, ?) = ?",
                (len(topic_prefix), topic_prefix)).rowcount

    def remove(self, entry_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (entry_id,))

    def backlog(self, now: float) -> Backlog:
        with self._lock:
            count, oldest, inline = self._db.execute(
                "SELECT COUNT(*), MIN(created), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox"
            ).fetchone()
            files = [Path(f) for (f,) in self._db.execute(
                "SELECT file FROM outbox WHERE file IS NOT NULL")]
        on_disk = sum(f.stat().st_size for f in files if f.exists())
        return Backlog(count, None if oldest is None else max(0.0, now - oldest),
                       inline + on_disk, len(files))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def read_backlog(data_dir: Path, now: float) -> Backlog | None:
    """What waits in the outbox under ``data_dir``, or None when nothing was ever queued."""
    path = data_dir / "outbox.sqlite"
    if not path.exists():
        return None
    outbox = Outbox(path)
    try:
        return outbox.backlog(now)
    finally:
        outbox.close()
