"""Writes one step's Record (the pass it used, the deliveries, the homeowner's settings, the
photos and clips it queues, its events and retained messages, and for a delivery that completes its
receipt and its history entry) in ONE transaction of the one database, and says what it wrote
in the log."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edge.contract.events import render_event, render_retained
from edge.contract.topics import Topics
from edge.domain.model import Emit, EventType, Now, Record, Retain, ShareClip, SharePhoto
from edge.journal.failures import DAMAGED_FIX
from edge.store.db import Database
from edge.store.deliveries import DeliveryJournal
from edge.store.history import DeliveryHistory
from edge.store.notes import DeliveryNotes
from edge.store.outbox import Channel, Outbox, Part
from edge.store.receipts import Receipts
from edge.store.replay import ReplayStore
from edge.store.settings import SettingsStore

log = logging.getLogger(__name__)

PhotoTarget = Callable[[SharePhoto], tuple[str, Path, Channel]]
ClipTarget = Callable[[ShareClip], list[tuple[str, Path, Channel, Part | None]]]


@dataclass
class _Queued:
    """What one commit queued: outbox rows and bytes, event seqs, receipt numbers."""

    rows: int = 0
    size: int = 0
    seqs: list[int] = field(default_factory=list)
    receipts: dict[str | None, int] = field(default_factory=dict)  # delivery id -> number

    def add(self, rows: int, size: int) -> None:
        self.rows += rows
        self.size += size


class Ledger:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        *,
        topics: Topics,
        photo_target: PhotoTarget,
        receipts: Receipts | None = None,
        clip_target: ClipTarget | None = None,
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._topics = topics
        self._photo_target = photo_target
        self._clip_target = clip_target  # None: this device records no clips
        self._receipts = receipts  # None: no receipts (a test's ledger)

    def commit(self, record: Record, now: Now) -> None:
        """All of ``record`` is on disk when this returns; on any error, none of it is."""
        if not record:
            return
        queued = _Queued()
        with self._db.transaction() as conn:
            if record.consume is not None:
                ReplayStore.record(conn, record.consume.jti, record.consume.exp)
            if record.deliveries is not None:
                DeliveryJournal.write(conn, record.deliveries, record.owner_hold)
            if record.settings is not None:
                SettingsStore.write(conn, record.settings)
            self._queue_media(conn, record, queued)  # before the events that announce them
            for emit in record.events:
                self._queue_event(conn, emit, now, queued)
            for retain in record.retained:
                fields = retain.fields
                number = queued.receipts.get(fields.get("delivery_id"))
                if retain.topic == "last_delivery" and number is not None:
                    fields = {**fields, "receipt": number}
                queued.add(
                    *Outbox.queue_retained(
                        conn, self._topic(retain), render_retained(fields, now.wall)
                    )
                )
        self._outbox.added(queued.rows, queued.size)
        for emit, seq in zip(record.events, queued.seqs, strict=True):
            _log_event(emit, seq)

    def _queue_media(self, conn: sqlite3.Connection, record: Record, queued: _Queued) -> None:
        for photo in record.photos:
            self._queue_photo(conn, photo, queued)
        for clip in record.clips:
            assert self._clip_target is not None, "a clip on a device without video"
            for target, path, channel, part in self._clip_target(clip):
                queued.add(1, Outbox.queue_file(conn, target, path, channel, part))

    def _queue_photo(self, conn: sqlite3.Connection, photo: SharePhoto, queued: _Queued) -> None:
        target, path, channel = self._photo_target(photo)
        queued.add(1, Outbox.queue_file(conn, target, path, channel))
        if photo.latest:
            queued.add(*Outbox.queue_retained(conn, self._topics.image_latest, file=path))

    def _queue_event(self, conn: sqlite3.Connection, emit: Emit, now: Now, queued: _Queued) -> None:
        """The event, its note for the delivery's history, and at a completion the history row
        and the signed receipt."""
        event_id = uuid.uuid4().hex
        seq, payload = Outbox.queue_event(
            conn, self._topics.events, self._render(emit, now, event_id)
        )
        queued.seqs.append(seq)
        queued.add(1, len(payload))
        DeliveryNotes.note(conn, emit, seq, event_id, payload, now.wall)
        if emit.type is not EventType.DELIVERY_COMPLETED or emit.delivery_id is None:
            return
        notes = DeliveryNotes.take(conn, emit.delivery_id)
        DeliveryHistory.add(conn, emit, notes, now.wall)
        if self._receipts is not None:
            receipt, number = self._receipts.issue(conn, emit, notes, now.wall)
            queued.receipts[emit.delivery_id] = number
            queued.add(
                1,
                Outbox.queue_message(
                    conn, self._topics.receipt(emit.delivery_id), receipt.encode("ascii")
                ),
            )

    def _render(self, emit: Emit, now: Now, event_id: str) -> Callable[[int], bytes]:
        return lambda seq: render_event(emit, seq, self._topics.device_id, now.wall, event_id)

    def _topic(self, retain: Retain) -> str:
        return {"last_delivery": self._topics.last_delivery}[retain.topic]


ALARM_FIXES = {  # an alarm is a WARNING in the journal, with what the homeowner can do
    EventType.ALARM_LOCK_FAULT: "the door may be unlocked: check that it is fully closed and "
    "that the bolt moves freely (or turn it by hand); the device "
    "keeps re-driving the lock until it reads locked",
    EventType.ALARM_DOOR_LEFT_OPEN: "close the door: the device relocks once it is closed",
    EventType.ALARM_FORCED_ENTRY: "the door opened while its bolt read locked, with no "
    "delivery or owner unlock: check the door and the camera",
    EventType.ALARM_CAMERA_FAULT: "see the camera_fault line for its fix; until it works, no "
    "in-home delivery or owner unlock opens the door",
    EventType.ALARM_STORAGE_FAULT: DAMAGED_FIX,
    EventType.ALARM_STORAGE_FULL: "free space on the data dir's disk, or raise "
    "storage.photos_quota_mb / storage.outbox_quota_mb",
}


def _log_event(emit: Emit, seq: int) -> None:
    line = " ".join(
        [
            f"event={emit.type} seq={seq} delivery_id={emit.delivery_id}",
            *(f"{k}={v}" for k, v in emit.fields.items() if k != "courier"),
        ]
    )
    fix = ALARM_FIXES.get(emit.type)
    if fix is None:
        log.info("%s", line)
    else:
        log.warning('%s fix="%s"', line, fix)


def log_unrecorded(record: Record, error: str) -> None:
    """A record that could not be written: its events are gone; the journal still says what
    they were."""
    for emit in record.events:
        log.error(
            "event=event_not_recorded type=%s delivery_id=%s error=%s",
            emit.type,
            emit.delivery_id,
            error,
        )
