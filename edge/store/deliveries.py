"""The active deliveries, saved with every step that changes them, so a restart picks them up
where they were (one row of JSON each)."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import asdict, fields
from typing import Any

from edge.domain.model import Delivery, Outcome, Phase
from edge.domain.passes import Courier, Mode
from edge.store.db import Database

log = logging.getLogger(__name__)


KNOWN = frozenset(field.name for field in fields(Delivery))


def _delivery(row: dict[str, Any]) -> Delivery:
    """A saved delivery. A field this version does not know (an older doorstep's, or a newer
    one's with the same schema) is left out, not the whole delivery: a delivery that held the
    door must still be finished `interrupted` after the start."""
    outcome = row.get("outcome")
    known = {name: value for name, value in row.items() if name in KNOWN}
    return Delivery(**{**known, "mode": Mode(row["mode"]), "courier": Courier(**row["courier"]),
                       "phase": Phase(row["phase"]), "photos": tuple(row["photos"]),
                       "outcome": None if outcome is None else Outcome(outcome)})


class DeliveryJournal:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def write(conn: sqlite3.Connection, deliveries: tuple[Delivery, ...]) -> None:
        """Make the stored set ``deliveries``, inside the caller's transaction: all rows
        anew (a few, in one page; no index on the id, which would be one more page to write)."""
        conn.execute("DELETE FROM deliveries")
        conn.executemany("INSERT INTO deliveries (id, position, body) VALUES (?, ?, ?)",
                         [(d.id, n, json.dumps(asdict(d))) for n, d in enumerate(deliveries)])

    def load(self) -> tuple[Delivery, ...]:
        """The saved deliveries, oldest accepted first; an unreadable row is logged and left
        out (the lock is driven locked at start whatever the journal says)."""
        with self._db.lock:
            rows = self._db.conn.execute(
                "SELECT id, body FROM deliveries ORDER BY position").fetchall()
        found = []
        for delivery_id, body in rows:
            try:
                found.append(_delivery(json.loads(body)))
            except (ValueError, TypeError, KeyError) as exc:
                log.error("event=journal_unreadable delivery_id=%s error=%s", delivery_id, exc)
        return tuple(found)
