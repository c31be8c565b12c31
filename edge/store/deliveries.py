"""The active deliveries and the homeowner's hold on the door, saved with every step that
changes them, so a restart picks them up where they were (one row of JSON each; the hold's row
is `owner/session`, an id no delivery can have)."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import asdict, fields
from typing import Any

from edge.domain.model import Delivery, Outcome, OwnerHold, Phase
from edge.domain.passes import Courier, Mode
from edge.store.db import Database

log = logging.getLogger(__name__)


KNOWN = frozenset(field.name for field in fields(Delivery))
OWNER_ROW = "owner/session"  # `/` is not allowed in a delivery id
OWNER_KNOWN = frozenset(field.name for field in fields(OwnerHold))


def _owner_hold(row: dict[str, Any]) -> OwnerHold:
    """The homeowner's hold (an older doorstep saved it with a delivery's fields too)."""
    outcome = row.get("outcome")
    known = {name: value for name, value in row.items() if name in OWNER_KNOWN}
    return OwnerHold(
        **{
            **known,
            "phase": Phase(row["phase"]),
            "outcome": None if outcome is None else Outcome(outcome),
        }
    )


def _delivery(row: dict[str, Any]) -> Delivery:
    """A saved delivery. A field this version does not know (an older doorstep's, or a newer
    one's with the same schema) is left out, not the whole delivery: a delivery that held the
    door must still be finished `interrupted` after the start."""
    outcome = row.get("outcome")
    known = {name: value for name, value in row.items() if name in KNOWN}
    return Delivery(
        **{
            **known,
            "mode": Mode(row["mode"]),
            "courier": Courier(**row["courier"]),
            "phase": Phase(row["phase"]),
            "photos": tuple(row["photos"]),
            "clips": tuple(row.get("clips", ())),
            "outcome": None if outcome is None else Outcome(outcome),
        }
    )


class DeliveryJournal:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def write(
        conn: sqlite3.Connection,
        deliveries: tuple[Delivery, ...],
        owner_hold: OwnerHold | None = None,
    ) -> None:
        """Make the stored set ``deliveries``, inside the caller's transaction, writing only the
        rows that changed: a step that moves one delivery rewrites one row, not all of them.
        A new delivery goes after every kept one (``position`` only orders them)."""
        stored = dict(conn.execute("SELECT id, body FROM deliveries").fetchall())
        wanted = {d.id: json.dumps(asdict(d)) for d in deliveries}
        if owner_hold is not None:
            wanted[OWNER_ROW] = json.dumps(asdict(owner_hold))
        gone = [(delivery_id,) for delivery_id in stored if delivery_id not in wanted]
        if gone:
            conn.executemany("DELETE FROM deliveries WHERE id = ?", gone)
        changed = [
            (body, delivery_id)
            for delivery_id, body in wanted.items()
            if delivery_id in stored and stored[delivery_id] != body
        ]
        if changed:
            conn.executemany("UPDATE deliveries SET body = ? WHERE id = ?", changed)
        new = [
            (delivery_id, body) for delivery_id, body in wanted.items() if delivery_id not in stored
        ]
        if new:
            last = conn.execute("SELECT COALESCE(MAX(position), -1) FROM deliveries").fetchone()[0]
            conn.executemany(
                "INSERT INTO deliveries (id, position, body) VALUES (?, ?, ?)",
                [(d, last + 1 + n, body) for n, (d, body) in enumerate(new)],
            )

    def load(self) -> tuple[Delivery, ...]:
        """The saved deliveries, oldest accepted first; an unreadable row is logged and left
        out (the lock is driven locked at start whatever the journal says)."""
        with self._db.lock:
            rows = self._db.conn.execute(
                "SELECT id, body FROM deliveries ORDER BY position"
            ).fetchall()
        found = []
        for delivery_id, body in rows:
            if delivery_id == OWNER_ROW:
                continue
            try:
                found.append(_delivery(json.loads(body)))
            except (ValueError, TypeError, KeyError) as exc:
                log.error("event=journal_unreadable delivery_id=%s error=%s", delivery_id, exc)
        return tuple(found)

    def load_owner_hold(self) -> OwnerHold | None:
        """The homeowner's hold on the door when the process ended, if it held it (a start
        then drives the lock locked and says so)."""
        with self._db.lock:
            row = self._db.conn.execute(
                "SELECT body FROM deliveries WHERE id = ?", (OWNER_ROW,)
            ).fetchone()
        if row is None:
            return None
        try:
            return _owner_hold(json.loads(row[0]))
        except (ValueError, TypeError, KeyError) as exc:
            log.error("event=journal_unreadable delivery_id=%s error=%s", OWNER_ROW, exc)
            return None
