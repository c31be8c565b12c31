"""Which failures the world causes and which are bugs: a full disk or a failing card (OSError,
sqlite3.Error) is logged as one line the homeowner can act on; anything else also gets its
traceback, for whoever fixes the code."""

from __future__ import annotations

import sqlite3

SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26
DAMAGED_FIX = (
    "the database is damaged (a failing SD card, or power lost mid-write): stop "
    "doorstep and run 'doorstep repair' (it keeps the device key and photos and "
    "copies what can still be read), or restore the data dir from a backup; the "
    "lock stays locked and every pass is refused until then"
)


def expected(exc: BaseException) -> bool:
    return isinstance(exc, (OSError, sqlite3.Error))


def damaged(exc: BaseException) -> bool:
    """The database file itself is damaged (not full, not busy): SQLite says it is corrupt,
    or not a database at all."""
    return isinstance(exc, sqlite3.DatabaseError) and getattr(exc, "sqlite_errorcode", None) in (
        SQLITE_CORRUPT,
        SQLITE_NOTADB,
    )
