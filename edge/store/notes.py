"""What a running delivery leaves behind for its receipt and its history entry: each of its
events (id, sha256 of the exact bytes published, type, time), each photo and clip, and who was
granted the door. Noted in the same transaction as the event itself; taken (read and deleted) in
the transaction that completes the delivery. A few rows per delivery, so no index (an index
would be one more page written with every event)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from edge.domain.model import Emit, EventType

PHOTO_FIELDS = ("photo_id", "sha256", "captured_at", "purpose", "frame", "local_only")
CLIP_FIELDS = (
    "clip_id",
    "sha256",
    "started_at",
    "duration_s",
    "frames",
    "max_gap_s",
    "truncated",
    "local_only",
)


@dataclass
class Notes:
    """One delivery's notes, oldest first."""

    events: list[dict[str, Any]] = field(default_factory=list)  # id, sha256, type, t, reason?
    photos: list[dict[str, Any]] = field(default_factory=list)  # PHOTO_FIELDS
    clips: list[dict[str, Any]] = field(default_factory=list)  # CLIP_FIELDS
    courier: dict[str, Any] | None = None
    confidential: bool = False
    arrived: float | None = None  # wall time of delivery.arriving


class DeliveryNotes:
    @staticmethod
    def note(
        conn: sqlite3.Connection, emit: Emit, seq: int, event_id: str, payload: bytes, wall: float
    ) -> None:
        """Remember ``emit`` (queued as ``payload``) under its delivery."""
        if emit.delivery_id is None:
            return
        event = {
            "id": event_id,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "type": str(emit.type),
            "t": wall,
        }
        if "reason" in emit.fields:
            event["reason"] = str(emit.fields["reason"])
        items: list[tuple[str, Any]] = [("event", event)]
        if emit.type is EventType.DELIVERY_ARRIVING:
            items.append(
                (
                    "grant",
                    {
                        "courier": emit.fields.get("courier"),
                        "confidential": bool(emit.fields.get("confidential")),
                    },
                )
            )
        if emit.type is EventType.DELIVERY_PHOTO:
            items.append(("photo", {key: emit.fields.get(key) for key in PHOTO_FIELDS}))
        if emit.type in (EventType.DELIVERY_CLIP, EventType.DOORBELL_CLIP):
            items.append(("clip", {key: emit.fields.get(key) for key in CLIP_FIELDS}))
        conn.executemany(
            "INSERT INTO receipt_items (delivery_id, seq, kind, body) VALUES (?, ?, ?, ?)",
            [(emit.delivery_id, seq, kind, json.dumps(body)) for kind, body in items],
        )

    @staticmethod
    def take(conn: sqlite3.Connection, delivery_id: str) -> Notes:
        """The notes of ``delivery_id``, forgotten once the caller's transaction commits."""
        rows = conn.execute(
            "SELECT kind, body FROM receipt_items WHERE delivery_id = ? ORDER BY seq, rowid",
            (delivery_id,),
        ).fetchall()
        conn.execute("DELETE FROM receipt_items WHERE delivery_id = ?", (delivery_id,))
        notes = Notes()
        for kind, text in rows:
            body = json.loads(text)
            if kind == "event":
                notes.events.append(body)
                if body.get("type") == EventType.DELIVERY_ARRIVING and notes.arrived is None:
                    notes.arrived = body.get("t")
            elif kind == "photo":
                notes.photos.append(body)
            elif kind == "clip":
                notes.clips.append(body)
            elif kind in ("grant", "courier") and notes.courier is None:  # courier: older builds
                notes.courier = body["courier"] if kind == "grant" else body
                notes.confidential = kind == "grant" and bool(body["confidential"])
        return notes

    @staticmethod
    def forget_finished(conn: sqlite3.Connection) -> int:
        """Drop notes no delivery will ever take: of a delivery that is not running (a photo
        that came after its delivery ended, a refusal naming an unknown delivery)."""
        return conn.execute(
            "DELETE FROM receipt_items WHERE delivery_id NOT IN (SELECT id FROM deliveries)"
        ).rowcount
