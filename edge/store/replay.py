"""Durable record of accepted pass ids (`jti`), so a pass works once, across restarts."""

from __future__ import annotations

import sqlite3

from edge.store.db import Database

HORIZON = "replay_horizon"  # a counters row: set by `doorstep repair` when used passes were lost


class ReplayStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def seen(self, jti: str, iat: float = float("inf")) -> bool:
        """Used before, or issued before a repair that could not read every used pass (it may
        have been used: counted as used)."""
        with self._db.lock:
            row = self._db.conn.execute(
                "SELECT 1 FROM used_jti WHERE jti = ? UNION ALL "
                "SELECT 1 FROM counters WHERE name = ? AND value > ?",
                (jti, HORIZON, iat),
            ).fetchone()
        return row is not None

    @staticmethod
    def record(conn: sqlite3.Connection, jti: str, exp: float) -> None:
        """Record ``jti`` inside the caller's transaction (a step's record)."""
        conn.execute("INSERT OR IGNORE INTO used_jti (jti, exp) VALUES (?, ?)", (jti, exp))

    def consume(self, jti: str, exp: float) -> None:
        """Record ``jti`` on its own; returns only once it is on disk."""
        with self._db.transaction() as conn:
            self.record(conn, jti, exp)

    def prune(self, older_than: float) -> int:
        """Forget ids whose pass expired before ``older_than``: they fail `expired` anyway."""
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM used_jti WHERE exp < ?", (older_than,)).rowcount
