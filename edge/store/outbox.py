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

from edge.store.sqlite import compact, open_db

COMPACT_AFTER_BYTES = 256 * 1024  # a drained backlog bigger than this gives its disk back

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB,
    file TEXT,
    created REAL NOT NULL,
    channel TEXT NOT NULL DEFAULT 'mqtt',
    bytes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_by_file ON outbox (file) WHERE file IS NOT NULL;
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
    """What waits is counted as it comes and goes (rows, and the bytes of events and of the
    photo files they name), so the quota measures the backlog, not the database file."""

    def __init__(self, path: Path) -> None:
        self._db = open_db(path, SCHEMA)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self._migrate()
        self._rows, self._bytes = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM outbox").fetchone()
        self._peak = self._bytes  # the largest backlog since the file was last compacted

    def _migrate(self) -> None:
        """Files from before the byte count: add the column and count what waits."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        if "bytes" in columns:
            return
        self._db.execute("ALTER TABLE outbox ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0")
        self._db.execute("UPDATE outbox SET bytes = LENGTH(payload) WHERE payload IS NOT NULL")
        for row_id, file in self._db.execute(
                "SELECT id, file FROM outbox WHERE file IS NOT NULL").fetchall():
            self._db.execute("UPDATE outbox SET bytes = ? WHERE id = ?",
                             (_file_size(Path(file)), row_id))

    def _counted(self, rows: int, size: int) -> None:
        self._rows += rows
        self._bytes += size
        self._peak = max(self._peak, self._bytes)

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
                payload = render(seq)
                self._db.execute(
                    "INSERT INTO outbox (topic, payload, created, bytes) VALUES (?, ?, ?, ?)",
                    (topic, payload, time.time(), len(payload)))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._counted(1, len(payload))
        self._notify()
        return seq

    def add_file(self, target: str, file: Path, channel: str = "mqtt") -> None:
        """Queue a stored photo for ``target``: an MQTT topic, or an upload URL."""
        size = _file_size(file)
        with self._lock:
            self._db.execute(
                "INSERT INTO outbox (topic, file, created, channel, bytes) VALUES (?, ?, ?, ?, ?)",
                (target, str(file), time.time(), channel, size))
            self._counted(1, size)
        self._notify()

    def pending(self, after_id: int, limit: int, channel: str = "mqtt") -> list[Entry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, file FROM outbox WHERE id > ? AND channel = ? "
                "ORDER BY id LIMIT ?", (after_id, channel, limit)).fetchall()
        return [Entry(i, t, p, Path(f) if f else None) for i, t, p, f in rows]

    def is_pending(self, file: Path) -> bool:
        """Is this photo file still waiting to be delivered? (The photo store keeps it.)"""
        with self._lock:
            return self._db.execute("SELECT 1 FROM outbox WHERE file = ? LIMIT 1",
                                    (str(file),)).fetchone() is not None

    def queued_bytes(self) -> int:
        """What waits to be sent: event bytes plus the photo files queued (not the file size of
        the database, which keeps its high-water mark until compacted)."""
        with self._lock:
            return self._bytes

    def drop_snapshots(self, topic_prefix: str) -> int:
        """Forget queued doorbell snapshots (MQTT topics starting with ``topic_prefix``): the
        first thing to go when the outbox is over its quota. Events and delivery photos are
        never dropped. An exact prefix, not LIKE: `_` in a device id would be a wildcard."""
        with self._lock:
            sizes = self._db.execute(
                "DELETE FROM outbox WHERE channel = 'mqtt' AND substr(topic, 1, ?) = ? "
                "RETURNING bytes", (len(topic_prefix), topic_prefix)).fetchall()
            self._counted(-len(sizes), -sum(size for (size,) in sizes))
            self._compact_if_drained()
        return len(sizes)

    def remove(self, entry_id: int) -> None:
        with self._lock:
            row = self._db.execute("DELETE FROM outbox WHERE id = ? RETURNING bytes",
                                   (entry_id,)).fetchone()
            if row is not None:
                self._counted(-1, -row[0])
                self._compact_if_drained()

    def _compact_if_drained(self) -> None:
        """Once a large backlog is gone, give its disk space back (not after every event)."""
        if self._rows == 0 and self._peak > COMPACT_AFTER_BYTES:
            compact(self._db)
            self._peak = 0

    def compact(self) -> None:
        with self._lock:
            compact(self._db)
            self._peak = self._bytes

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


def _file_size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0  # gone already: the pump will drop its row
