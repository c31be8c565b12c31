"""Durable record of accepted pass ids (`jti`), so a pass works once, across restarts."""

from __future__ import annotations

import threading
from pathlib import Path

from edge.store.sqlite import compact, open_db

SCHEMA = "CREATE TABLE IF NOT EXISTS used_jti (jti TEXT PRIMARY KEY, exp REAL NOT NULL);"


class ReplayStore:
    def __init__(self, path: Path) -> None:
        self._db = open_db(path, SCHEMA)
        self._lock = threading.Lock()

    def seen(self, jti: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM used_jti WHERE jti = ?", (jti,)).fetchone()
        return row is not None

    def consume(self, jti: str, exp: float) -> None:
        """Record ``jti``; returns only once it is on disk."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO used_jti (jti, exp) VALUES (?, ?)", (jti, exp))

    def prune(self, older_than: float) -> int:
        """Forget ids whose pass expired before ``older_than``: they fail `expired` anyway."""
        with self._lock:
            pruned = self._db.execute("DELETE FROM used_jti WHERE exp < ?", (older_than,)).rowcount
            if pruned:
                compact(self._db)
            return pruned

    def close(self) -> None:
        with self._lock:
            self._db.close()
