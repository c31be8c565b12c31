"""doorstep's one database, `doorstep.sqlite` in the data dir: the passes already used, the
active deliveries, the outbox, the homeowner's settings, what the next receipts will list and
the history of past deliveries.
One step of the core writes all it changes in ONE transaction, so a step costs one fsync, and
a crash leaves either the whole step or none of it.

Small pages (1 KiB) because a step changes a few rows in a few tables: every page it touches
is written in full, twice (the write-ahead log, then the checkpoint). For the same reason a
step's rows stay inside their page: no overflow pages, no free-list churn, no sqlite_sequence
(schema 2: outbox ids come from the counters row a step writes anyway, and the deliveries are
a plain table, whose rows may fill a page, where a WITHOUT ROWID row spills past a quarter).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edge.store.sqlite import compact, open_db

log = logging.getLogger(__name__)

FILE_NAME = "doorstep.sqlite"
SCHEMA_VERSION = 2
PAGE_SIZE = 1024

DELIVERIES = """CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT NOT NULL, position INTEGER NOT NULL, body TEXT NOT NULL)"""
OUTBOX = """CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,  -- from counters.outbox_id: never reused, so the pump's cursor holds
    topic TEXT NOT NULL,
    payload BLOB,
    file TEXT,
    created REAL NOT NULL,
    channel TEXT NOT NULL DEFAULT 'mqtt',
    bytes INTEGER NOT NULL DEFAULT 0,
    retain INTEGER NOT NULL DEFAULT 0,
    part_offset INTEGER,  -- a clip's chunk: this slice of file (NULL: the whole file)
    part_length INTEGER
)"""
OUTBOX_BY_FILE = "CREATE INDEX IF NOT EXISTS outbox_by_file ON outbox (file) WHERE file IS NOT NULL"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS used_jti (jti TEXT PRIMARY KEY, exp REAL NOT NULL) WITHOUT ROWID;
{DELIVERIES};
{OUTBOX};
{OUTBOX_BY_FILE};
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters (name, value) VALUES ('event_seq', 0);
INSERT OR IGNORE INTO counters (name, value) VALUES ('outbox_id', 0);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
-- Notes for the receipts and the history of the deliveries still running (store/notes.py).
CREATE TABLE IF NOT EXISTS receipt_items (
    delivery_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL);
-- Completed deliveries, for the homeowner (store/history.py); added without a schema version
-- change: an older doorstep ignores the table, so going back a version still starts.
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY, delivery_id TEXT NOT NULL, completed REAL NOT NULL,
    body TEXT NOT NULL);
"""


class StoreTooNew(Exception):
    """The database was written by a newer doorstep: this one cannot read it safely."""

    FIX = "install the newer doorstep again, or restore the data dir from before the upgrade"

    def __init__(self, path: Path, version: int) -> None:
        self.path, self.version = path, version
        super().__init__(
            f"{path} was written by a newer doorstep (schema {version}; this one "
            f"reads {SCHEMA_VERSION}): {self.FIX}"
        )


class Database:
    """The one connection, shared by the core, the outbox pump and the uploader under one
    lock (SQLite serialises writers anyway)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.conn = open_db(path, page_size=PAGE_SIZE)
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            self.conn.close()
            raise StoreTooNew(path, version)
        self.conn.executescript(SCHEMA)
        _with_parts(self.conn)
        if version == 1:
            with self.transaction() as conn:
                _to_schema_2(conn)
            log.info("event=store_migrated path=%s schema=2", path)
        if version < SCHEMA_VERSION:
            self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back already (a full disk does): a second ROLLBACK
                # would fail with "no transaction is active" and hide the real cause.
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                raise

    def compact(self) -> None:
        with self.lock:
            compact(self.conn)

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def _with_parts(conn: sqlite3.Connection) -> None:
    """The outbox's chunk columns, added to a schema-2 file made before clips (no version
    change: an older doorstep names its columns, and never sees a chunk row it did not make
    unless it is started on a newer one's data, when it sends the whole clip per chunk)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
    for name in ("part_offset", "part_length"):
        if name not in columns:
            conn.execute(f"ALTER TABLE outbox ADD COLUMN {name} INTEGER")


def _to_schema_2(conn: sqlite3.Connection) -> None:
    """Schema 1 to 2: the outbox loses AUTOINCREMENT (its ids carry on from the counters row)
    and the deliveries become a plain table; rows and ids are kept as they were."""
    conn.execute(
        "UPDATE counters SET value = (SELECT MAX(n) FROM (SELECT COALESCE(MAX(id), 0) "
        "AS n FROM outbox UNION ALL SELECT seq FROM sqlite_sequence "
        "WHERE name = 'outbox')) WHERE name = 'outbox_id'"
    )
    conn.execute("DROP INDEX IF EXISTS outbox_by_file")
    conn.execute("ALTER TABLE outbox RENAME TO outbox_v1")
    conn.execute("ALTER TABLE deliveries RENAME TO deliveries_v1")
    for statement in (OUTBOX, OUTBOX_BY_FILE, DELIVERIES):
        conn.execute(statement)
    conn.execute(
        "INSERT INTO outbox (id, topic, payload, file, created, channel, bytes, retain) "
        "SELECT id, topic, payload, file, created, channel, bytes, retain FROM outbox_v1"
    )
    conn.execute("INSERT INTO deliveries SELECT id, position, body FROM deliveries_v1")
    conn.execute("DROP TABLE outbox_v1")
    conn.execute("DROP TABLE deliveries_v1")
    conn.execute("DELETE FROM sqlite_sequence")


def open_store(data_dir: Path) -> Database:
    """The data dir's database, made from the files of earlier versions the first time."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / FILE_NAME
    fresh = not path.exists()
    db = Database(path)
    if fresh:
        _migrate_files(db, data_dir)
    return db


def _migrate_files(db: Database, data_dir: Path) -> None:
    """Before schema 1 the used passes (replay.sqlite), the outbox (outbox.sqlite) and the
    deliveries (deliveries.json) lived in three files: copy them in, then set them aside."""
    replay, outbox, journal = (
        data_dir / "replay.sqlite",
        data_dir / "outbox.sqlite",
        data_dir / "deliveries.json",
    )
    if not (replay.exists() or outbox.exists() or journal.exists()):
        return
    attached = [
        (alias, path)
        for alias, path in (("old_replay", replay), ("old_outbox", outbox))
        if path.exists()
    ]
    with db.lock:
        for alias, path in attached:  # ATTACH and DETACH cannot run inside a transaction
            db.conn.execute("ATTACH DATABASE ? AS " + alias, (str(path),))
        try:
            with db.transaction() as conn:
                _copy(conn, dict(attached), journal)
        finally:
            for alias, _ in attached:
                db.conn.execute("DETACH DATABASE " + alias)
    for old in (replay, outbox, journal):
        for part in (old, old.with_name(old.name + "-wal"), old.with_name(old.name + "-shm")):
            if part.exists():
                part.rename(part.with_name(part.name + ".migrated"))
    log.info('event=store_migrated into=%s detail="earlier files kept as *.migrated"', db.path)


def _copy(conn: sqlite3.Connection, attached: dict[str, Path], journal: Path) -> None:
    if "old_replay" in attached:
        conn.execute("INSERT OR IGNORE INTO used_jti SELECT jti, exp FROM old_replay.used_jti")
    if "old_outbox" in attached:
        columns = {row[1] for row in conn.execute("PRAGMA old_outbox.table_info(outbox)")}
        size = "bytes" if "bytes" in columns else "COALESCE(LENGTH(payload), 0)"
        conn.execute(
            "INSERT INTO outbox (id, topic, payload, file, created, channel, bytes) "
            f"SELECT id, topic, payload, file, created, channel, {size} "
            "FROM old_outbox.outbox"
        )
        conn.execute(
            "UPDATE counters SET value = (SELECT value FROM old_outbox.counters "
            "WHERE name = 'event_seq') WHERE name = 'event_seq'"
        )
        conn.execute(
            "UPDATE counters SET value = (SELECT COALESCE(MAX(id), 0) FROM outbox) "
            "WHERE name = 'outbox_id'"
        )
        for row_id, file in conn.execute(
            "SELECT id, file FROM outbox WHERE file IS NOT NULL AND bytes = 0"
        ).fetchall():
            on_disk = Path(file).stat().st_size if Path(file).exists() else 0
            conn.execute("UPDATE outbox SET bytes = ? WHERE id = ?", (on_disk, row_id))
    if journal.exists():
        try:
            rows = json.loads(journal.read_text(encoding="utf-8"))
            for position, row in enumerate(rows):
                conn.execute(
                    "INSERT INTO deliveries VALUES (?, ?, ?)",
                    (row["id"], position, json.dumps(row)),
                )
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.error("event=journal_unreadable path=%s error=%s", journal, exc)
