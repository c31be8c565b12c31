"""The homeowner's record of past deliveries: one row per completed delivery (who came, what
happened when, which photos and clips were taken), written in the transaction that completes it,
kept `photo_retention_days`, and read by `doorstep history` while the daemon runs. A photo whose
file is gone (erased, or past its retention) is listed as erased, never silently dropped."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.domain.model import MAX_FRAME_GAP_S, Emit
from edge.store.db import FILE_NAME, SCHEMA_VERSION, StoreTooNew
from edge.store.notes import Notes


@dataclass(frozen=True)
class PastPhoto:
    photo_id: str
    purpose: str
    captured_at: str
    sha256: str
    local_only: bool  # a confidential delivery's: only ever on this device
    file: Path | None  # None: erased, or past its retention


@dataclass(frozen=True)
class PastClip:
    clip_id: str
    started_at: str
    duration_s: float
    sha256: str
    local_only: bool
    camera_fault: bool  # frames stopped for more than a second while it was recording
    file: Path | None  # None: erased, or past its retention


@dataclass(frozen=True)
class PastDelivery:
    delivery_id: str
    mode: str
    outcome: str
    courier: dict[str, Any] | None
    confidential: bool
    arrived: float | None  # wall clock; None when the arrival was not noted (an old build)
    completed: float
    photos: tuple[PastPhoto, ...]
    parcel_visible: bool | None
    events: tuple[dict[str, Any], ...]  # {"t", "type", "reason"?}, in order
    clips: tuple[PastClip, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "mode": self.mode,
            "outcome": self.outcome,
            "courier": self.courier,
            "confidential": self.confidential,
            "arrived": self.arrived,
            "completed": self.completed,
            "parcel_visible": self.parcel_visible,
            "events": list(self.events),
            "photos": [
                {
                    "photo_id": p.photo_id,
                    "purpose": p.purpose,
                    "captured_at": p.captured_at,
                    "sha256": p.sha256,
                    "local_only": p.local_only,
                    "erased": p.file is None,
                }
                for p in self.photos
            ],
            "clips": [
                {
                    "clip_id": c.clip_id,
                    "started_at": c.started_at,
                    "duration_s": c.duration_s,
                    "sha256": c.sha256,
                    "local_only": c.local_only,
                    "camera_fault": c.camera_fault,
                    "erased": c.file is None,
                }
                for c in self.clips
            ],
        }


class DeliveryHistory:
    @staticmethod
    def add(conn: sqlite3.Connection, completed: Emit, notes: Notes, wall: float) -> None:
        """Keep the delivery ``completed`` ends, inside the caller's transaction."""
        body = {
            "delivery_id": completed.delivery_id,
            "mode": str(completed.fields["mode"]),
            "outcome": str(completed.fields["outcome"]),
            "courier": notes.courier,
            "confidential": notes.confidential,
            "arrived": notes.arrived,
            "parcel_visible": completed.fields.get("parcel_visible"),
            "photos": notes.photos,
            "clips": notes.clips,
            "events": [
                {key: e[key] for key in ("t", "type", "reason") if key in e} for e in notes.events
            ],
        }
        conn.execute(
            "INSERT INTO history (delivery_id, completed, body) VALUES (?, ?, ?)",
            (completed.delivery_id, wall, json.dumps(body)),
        )

    @staticmethod
    def prune(conn: sqlite3.Connection, before: float) -> int:
        return conn.execute("DELETE FROM history WHERE completed < ?", (before,)).rowcount


def read_history(data_dir: Path, since: float | None = None) -> list[PastDelivery] | None:
    """The deliveries completed at or after ``since``, oldest first; None when the data dir has
    no database yet. Opened read-only: the daemon may be running, and this never writes."""
    path = data_dir / FILE_NAME
    if not path.exists():
        return None
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreTooNew(path, version)
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'history'").fetchone() is None:
            return []  # a database from before the history
        rows = conn.execute(
            "SELECT completed, body FROM history WHERE completed >= ? ORDER BY completed, id",
            (since or 0.0,),
        ).fetchall()
    finally:
        conn.close()
    photos = data_dir / "photos"
    return [_past(json.loads(body), completed, photos) for completed, body in rows]


def _past(body: dict[str, Any], completed: float, photos: Path) -> PastDelivery:
    delivery_id = body["delivery_id"]
    return PastDelivery(
        delivery_id=delivery_id,
        mode=body["mode"],
        outcome=body["outcome"],
        courier=body.get("courier"),
        confidential=bool(body.get("confidential")),
        arrived=body.get("arrived"),
        completed=completed,
        parcel_visible=body.get("parcel_visible"),
        events=tuple(body.get("events", ())),
        photos=tuple(
            PastPhoto(
                photo_id=p["photo_id"],
                purpose=p.get("purpose") or "",
                sha256=p.get("sha256") or "",
                captured_at=p.get("captured_at") or "",
                local_only=bool(p.get("local_only")),
                file=_file(photos, delivery_id, p["photo_id"], bool(p.get("local_only"))),
            )
            for p in body.get("photos", ())
        ),
        clips=tuple(_clip(c, photos, delivery_id) for c in body.get("clips", ())),
    )


def _clip(c: dict[str, Any], photos: Path, delivery_id: str) -> PastClip:
    local = bool(c.get("local_only"))
    return PastClip(
        clip_id=c["clip_id"],
        started_at=c.get("started_at") or "",
        duration_s=float(c.get("duration_s") or 0),
        sha256=c.get("sha256") or "",
        local_only=local,
        camera_fault=float(c.get("max_gap_s") or 0) > MAX_FRAME_GAP_S,  # as its event said
        file=_file(photos, delivery_id, c["clip_id"], local, ".mp4"),
    )


def _file(
    photos: Path, delivery_id: str, photo_id: str, private: bool, suffix: str = ".jpg"
) -> Path | None:
    kind = "private" if private else "deliveries"
    file = photos / kind / delivery_id / f"{photo_id}{suffix}"
    return file if file.exists() else None
