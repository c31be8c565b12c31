"""One way to open doorstep's SQLite files: WAL, full fsync, usable from the thread that asks.

The files must not keep what they once needed: the write-ahead log is checkpointed every 256
pages and truncated back to 1 MiB at most, and a file with many free pages (a drained backlog)
is vacuumed.
(Not auto_vacuum: its pointer-map pages would be written with every step.)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

WAL_PAGES = 256  # checkpoint the log every 256 pages (256 KiB at doorstep's 1 KiB pages)
WAL_KEEP_BYTES = 1024 * 1024  # a checkpointed log is truncated back to this
CACHE_KIB = 512  # per connection; SQLite's 2 MiB default grows the daemon as the files grow


def open_db(path: Path, page_size: int | None = None) -> sqlite3.Connection:
    """The file opened with doorstep's settings; its schema is the caller's to make (after it
    has read the file's version: a newer doorstep's file must not get tables of ours)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
    if page_size is not None and db.execute("PRAGMA page_count").fetchone()[0] == 0:
        db.execute(f"PRAGMA page_size={page_size}")  # only a new file takes it
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
    db.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
    db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    return db


def compact(db: sqlite3.Connection, free_pages: int = 64) -> None:
    """Give freed pages back to the file system (when there are many: VACUUM rewrites the
    file) and empty the write-ahead log."""
    if db.execute("PRAGMA freelist_count").fetchone()[0] >= free_pages:
        db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
