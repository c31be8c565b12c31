"""The disk outbox: events and photos wait here until the broker (or the upload server)
acknowledges them.

Events are stored inline with their `seq`, which a counter in the same database hands out, so
it keeps increasing across restarts; row ids come from a counter beside it, so they are never
reused and the pump's cursor (the highest id it has sent) stays true when the table empties.
Photos are files (written by PhotoStore) referenced by path. Each row has a channel: "mqtt"
rows carry a topic and go through the MQTT pump, "http" rows carry an upload URL and go
through the photo uploader. Rows leave only through ``remove``, on PUBACK or a 2xx answer.

What waits is counted as it comes and goes (rows, and the bytes of events and of the photo
files they name), so the quota measures the backlog, not the database file.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edge.store.db import FILE_NAME, Database

Channel = Literal["mqtt", "http"]
Part = tuple[int, int]  # (offset, length): one chunk of a clip's file
COMPACT_AFTER_BYTES = 256 * 1024  # a drained backlog bigger than this gives its disk back


@dataclass(frozen=True)
class Entry:
    id: int
    topic: str
    payload: bytes | None
    file: Path | None
    retain: bool = False
    part: Part | None = None  # only this slice of ``file``

    def body(self) -> bytes:
        if self.payload is not None:
            return self.payload
        assert self.file is not None
        if self.part is None:
            return self.file.read_bytes()
        offset, length = self.part
        with self.file.open("rb") as f:
            f.seek(offset)
            return f.read(length)


@dataclass(frozen=True)
class Backlog:
    count: int
    oldest_age_s: float | None
    bytes: int = 0  # events inline plus photo files still waiting
    photos: int = 0


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._listeners: list[Callable[[], None]] = []
        self._rows, self._bytes = 0, 0
        self.recount()
        self._peak = self._bytes  # the largest backlog since the file was last compacted

    def on_added(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    # --- adding, inside a step's transaction ----------------------------------------------

    @staticmethod
    def queue_retained(
        conn: sqlite3.Connection, topic: str, payload: bytes | None = None, file: Path | None = None
    ) -> tuple[int, int]:
        """Queue a retained message (a dashboard's `last_delivery`, `image/latest`); one still
        waiting for the same topic is superseded: only the latest matters. Returns the change
        in (rows, bytes)."""
        gone = conn.execute(
            "DELETE FROM outbox WHERE topic = ? AND retain = 1 RETURNING bytes", (topic,)
        ).fetchall()
        size = len(payload) if payload is not None else _file_size(file) if file else 0
        conn.execute(
            "INSERT INTO outbox (id, topic, payload, file, created, bytes, retain) "
            "VALUES (?, ?, ?, ?, ?, ?, 1)",
            (_next_id(conn), topic, payload, str(file) if file else None, time.time(), size),
        )
        return 1 - len(gone), size - sum(n for (n,) in gone)

    @staticmethod
    def queue_event(
        conn: sqlite3.Connection, topic: str, render: Callable[[int], bytes]
    ) -> tuple[int, bytes]:
        """Take the next `seq` and store ``render(seq)`` under it: (seq, the payload)."""
        seq = conn.execute(
            "UPDATE counters SET value = value + 1 WHERE name = 'event_seq' RETURNING value"
        ).fetchone()[0]
        payload = render(seq)
        conn.execute(
            "INSERT INTO outbox (id, topic, payload, created, bytes) VALUES (?, ?, ?, ?, ?)",
            (_next_id(conn), topic, payload, time.time(), len(payload)),
        )
        return seq, payload

    @staticmethod
    def queue_message(conn: sqlite3.Connection, topic: str, payload: bytes) -> int:
        """Queue a message that is no event (a receipt): its bytes."""
        conn.execute(
            "INSERT INTO outbox (id, topic, payload, created, bytes) VALUES (?, ?, ?, ?, ?)",
            (_next_id(conn), topic, payload, time.time(), len(payload)),
        )
        return len(payload)

    @staticmethod
    def queue_file(
        conn: sqlite3.Connection,
        target: str,
        file: Path,
        channel: Channel = "mqtt",
        part: Part | None = None,
    ) -> int:
        """Queue a stored photo or clip (or ``part`` of it) for ``target`` (an MQTT topic, or
        an upload URL): its bytes."""
        size = _file_size(file) if part is None else part[1]
        offset, length = part if part is not None else (None, None)
        conn.execute(
            "INSERT INTO outbox (id, topic, file, created, channel, bytes, part_offset, "
            "part_length) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (_next_id(conn), target, str(file), time.time(), channel, size, offset, length),
        )
        return size

    def added(self, rows: int, size: int) -> None:
        """Count what a committed transaction queued, and wake the senders."""
        if not rows and not size:
            return
        with self._db.lock:
            self._counted(rows, size)
        for listener in self._listeners:
            listener()

    # --- adding, each on its own ------------------------------------------------------------

    def add_event(self, topic: str, render: Callable[[int], bytes]) -> int:
        with self._db.transaction() as conn:
            seq, payload = self.queue_event(conn, topic, render)
        self.added(1, len(payload))
        return seq

    def add_file(self, target: str, file: Path, channel: Channel = "mqtt") -> None:
        with self._db.transaction() as conn:
            size = self.queue_file(conn, target, file, channel)
        self.added(1, size)

    # --- sending ----------------------------------------------------------------------------

    def pending(self, after_id: int, limit: int, channel: Channel = "mqtt") -> list[Entry]:
        with self._db.lock:
            rows = self._db.conn.execute(
                f"SELECT {ENTRY} FROM outbox WHERE id > ? AND channel = ? ORDER BY id LIMIT ?",
                (after_id, channel, limit),
            ).fetchall()
        return [_entry(row) for row in rows]

    def entries(self, entry_ids: list[int]) -> list[Entry]:
        """These entries, oldest first; those already gone are left out."""
        if not entry_ids:
            return []
        marks = ", ".join("?" * len(entry_ids))
        with self._db.lock:
            rows = self._db.conn.execute(
                f"SELECT {ENTRY} FROM outbox WHERE id IN ({marks}) ORDER BY id", entry_ids
            ).fetchall()
        return [_entry(row) for row in rows]

    def is_pending(self, file: Path) -> bool:
        """Is this photo file still waiting to be delivered? (The photo store keeps it.)"""
        with self._db.lock:
            return (
                self._db.conn.execute(
                    "SELECT 1 FROM outbox WHERE file = ? LIMIT 1", (str(file),)
                ).fetchone()
                is not None
            )

    def queued_bytes(self) -> int:
        """What waits to be sent: event bytes plus the photo files queued (not the file size of
        the database, which keeps its high-water mark until compacted)."""
        with self._db.lock:
            return self._bytes

    def drop_snapshots(self, topic_prefix: str) -> int:
        """Forget queued doorbell snapshots (MQTT topics starting with ``topic_prefix``): the
        first thing to go when the outbox is over its quota. Events and delivery photos are
        never dropped. An exact prefix, not LIKE: `_` in a device id would be a wildcard."""
        with self._db.transaction() as conn:
            sizes = conn.execute(
                "DELETE FROM outbox WHERE channel = 'mqtt' AND substr(topic, 1, ?) = ? "
                "RETURNING bytes",
                (len(topic_prefix), topic_prefix),
            ).fetchall()
            self._counted(-len(sizes), -sum(size for (size,) in sizes))
        self._compact_if_drained()
        return len(sizes)

    def remove(self, entry_ids: Iterable[int]) -> None:
        """Forget acknowledged entries, in one transaction. Not fsynced on its own: a crash
        that loses this only sends them again (at least once), and the next step's commit
        takes it to disk in the same write."""
        with self._db.lock:
            self._db.conn.execute("PRAGMA synchronous=NORMAL")
            try:
                with self._db.transaction() as conn:
                    for entry_id in entry_ids:
                        row = conn.execute(
                            "DELETE FROM outbox WHERE id = ? RETURNING bytes", (entry_id,)
                        ).fetchone()
                        if row is not None:
                            self._counted(-1, -row[0])
            finally:
                self._db.conn.execute("PRAGMA synchronous=FULL")
        self._compact_if_drained()

    def backlog(self, now: float) -> Backlog:
        with self._db.lock:
            count, oldest, size, photos = self._db.conn.execute(
                "SELECT COUNT(*), MIN(created), COALESCE(SUM(bytes), 0), COUNT(file) FROM outbox"
            ).fetchone()
        return Backlog(count, None if oldest is None else max(0.0, now - oldest), size, photos)

    # --- housekeeping -----------------------------------------------------------------------

    def recount(self) -> None:
        """Count what waits from the table again (another process may have changed it)."""
        with self._db.lock:
            rows, size = self._db.conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM outbox"
            ).fetchone()
            self._rows, self._bytes = int(rows), int(size)

    def _counted(self, rows: int, size: int) -> None:
        self._rows += rows
        self._bytes += size
        self._peak = max(self._peak, self._bytes)

    def _compact_if_drained(self) -> None:
        """Once a large backlog is gone, give its disk space back (not after every event)."""
        with self._db.lock:
            if self._rows == 0 and self._peak > COMPACT_AFTER_BYTES:
                self._db.compact()
                self._peak = 0


def read_backlog(data_dir: Path, now: float) -> Backlog | None:
    """What waits in the outbox under ``data_dir``, or None when nothing was ever queued."""
    path = data_dir / FILE_NAME
    if not path.exists():
        return None
    db = Database(path)
    try:
        return Outbox(db).backlog(now)
    finally:
        db.close()


ENTRY = "id, topic, payload, file, retain, part_offset, part_length"


def _entry(row: tuple[Any, ...]) -> Entry:
    entry_id, topic, payload, file, retain, offset, length = row
    part = (offset, length) if offset is not None else None
    return Entry(entry_id, topic, payload, Path(file) if file else None, bool(retain), part)


def _next_id(conn: sqlite3.Connection) -> int:
    """The next row id: always higher than any before, even once the table has emptied, and
    than a row another writer added without the counter (an older doorstep, say)."""
    return int(
        conn.execute(
            "UPDATE counters SET value = MAX(value, (SELECT COALESCE(MAX(id), 0) FROM outbox)) + 1 "
            "WHERE name = 'outbox_id' RETURNING value"
        ).fetchone()[0]
    )


def _file_size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0  # gone already: the pump will drop its row
