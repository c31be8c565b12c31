"""Signed receipts, the proof of a delivery (docs/protocol.md §9). While a delivery runs, each of
its events (its id and the sha256 of the exact bytes published) and each of its photos and clips
is noted (edge/store/notes.py) in the same transaction as the event itself; when it completes, the
receipt is built from those notes, signed with the device's key, chained to the previous
receipt (`prev`: the sha256 of its JWS) and queued on `receipts/{delivery_id}` in that same
transaction. A kill -9 anywhere leaves either the whole step (receipt and chain head) or none
of it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.contract.events import rfc3339
from edge.domain.model import Emit
from edge.store.notes import Notes

HEADER = {"alg": "EdDSA", "typ": "JWT"}
RECEIPT_PHOTO_FIELDS = ("photo_id", "sha256", "captured_at", "purpose", "frame", "local_only")


def issued(conn: sqlite3.Connection) -> int:
    """How many receipts this device has issued: the number of the latest (0 for none)."""
    row = conn.execute("SELECT value FROM settings WHERE name = 'receipts'").fetchone()
    return int(row[0]) if row else 0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(key: Ed25519PrivateKey, payload: dict[str, Any]) -> str:
    head = _b64(json.dumps(HEADER, separators=(",", ":")).encode())
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signature = key.sign(f"{head}.{body}".encode("ascii"))
    return f"{head}.{body}.{_b64(signature)}"


class Receipts:
    def __init__(self, key: Ed25519PrivateKey, device_id: str) -> None:
        self._key = key
        self._device_id = device_id

    def issue(
        self, conn: sqlite3.Connection, completed: Emit, notes: Notes, wall: float
    ) -> tuple[str, int]:
        """The signed receipt of the delivery ``completed`` ends, as the next link of the chain,
        and its number (1 for the device's first)."""
        prev = conn.execute("SELECT value FROM settings WHERE name = 'last_receipt'").fetchone()
        number = issued(conn) + 1
        jws = sign(
            self._key,
            {
                "device_id": self._device_id,
                "delivery_id": completed.delivery_id,
                "mode": completed.fields["mode"],
                "outcome": completed.fields["outcome"],
                "courier": notes.courier,
                "issued_at": rfc3339(datetime.fromtimestamp(wall, UTC)),
                "events": [{"id": e["id"], "sha256": e["sha256"]} for e in notes.events],
                "photos": [{key: p.get(key) for key in RECEIPT_PHOTO_FIELDS} for p in notes.photos],
                "clips": notes.clips,
                "prev": prev[0] if prev else None,
                "number": number,
            },
        )
        conn.executemany(
            "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)",
            [
                ("last_receipt", hashlib.sha256(jws.encode("ascii")).hexdigest()),
                ("receipts", str(number)),
            ],
        )
        return jws, number
