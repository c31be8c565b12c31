"""The homeowner's settings (docs/protocol.md §8), kept across restarts: the in-home switch and
the wrong owner codes that count towards a lockout. One row of JSON."""

from __future__ import annotations

import json
import logging
import sqlite3

from edge.domain.model import Settings
from edge.store.db import Database

log = logging.getLogger(__name__)


class SettingsStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def write(conn: sqlite3.Connection, settings: Settings) -> None:
        """Inside the caller's transaction (a step's record)."""
        conn.execute(
            "INSERT OR REPLACE INTO settings (name, value) VALUES ('owner', ?)",
            (
                json.dumps(
                    {
                        "in_home": settings.in_home,
                        "wrong_codes": list(settings.wrong_codes),
                        "locked_out_until": settings.locked_out_until,
                    }
                ),
            ),
        )

    def load(self) -> Settings:
        """What was kept; nothing kept (or unreadable: logged) is the defaults."""
        with self._db.lock:
            row = self._db.conn.execute(
                "SELECT value FROM settings WHERE name = 'owner'"
            ).fetchone()
        if row is None:
            return Settings()
        try:
            kept = json.loads(row[0])
            return Settings(
                in_home=kept["in_home"],
                wrong_codes=tuple(kept["wrong_codes"]),
                locked_out_until=kept["locked_out_until"],
            )
        except (ValueError, TypeError, KeyError) as exc:
            log.error(
                'event=settings_unreadable error=%s detail="the config\'s defaults apply"', exc
            )
            return Settings()
