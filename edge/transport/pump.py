"""Moves outbox entries to the broker in order, a bounded number in flight, and removes each
entry only when its PUBACK arrives. Unacknowledged entries stay on disk and go again after a
restart, so delivery is at least once."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Protocol

from edge.fault_log import FaultLog
from edge.store.outbox import Outbox

log = logging.getLogger(__name__)

RETRY_REFUSED_S = 30.0
LOOK_AGAIN_S = 5.0
OUTBOX_FAULT_STOPS = "events and photos wait in the outbox, unsent"
OUTBOX_FAULT_FIX = ("check the data dir's disk (full, read-only or a failing SD card); what waits "
                    "is sent once it can be read again")


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int: ...


class OutboxPump:
    def __init__(self, outbox: Outbox, publisher: Publisher, window: int = 16) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._window = window
        self._acks: queue.SimpleQueue[tuple[int, bool]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._in_flight: dict[int, int] = {}  # paho mid -> outbox entry id
        self._cursor = 0  # highest entry id handed to paho
        self._faults = FaultLog("outbox", OUTBOX_FAULT_STOPS, OUTBOX_FAULT_FIX, log)
        self._thread = threading.Thread(target=self._run, name="outbox-pump", daemon=True)
        outbox.on_added(self._wake.set)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def acknowledged(self, mid: int, ok: bool) -> None:
        """Called from paho's thread: only records, the pump thread does the work."""
        self._acks.put((mid, ok))
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            # Woken by new rows and acknowledgements; and now and then anyway, for rows that
            # another process queued (`doorstep photos erase`).
            self._wake.wait(timeout=LOOK_AGAIN_S)
            self._wake.clear()
            try:
                self.pump_now()
            except Exception as exc:  # noqa: BLE001 - the disk, most likely: said, not a
                self._faults.failed(exc, time.monotonic())  # traceback every few seconds
                continue
            self._faults.ok(time.monotonic())

    def pump_now(self) -> None:
        """Settle the acknowledgements and fill the window, on the caller's thread (the pump's
        own, or a loop that runs many devices without a thread each: simulator/fleet)."""
        self._settle_acks()
        self._fill_window()

    def _settle_acks(self) -> None:
        refused = False
        acknowledged: list[int] = []
        while True:
            try:
                mid, ok = self._acks.get_nowait()
            except queue.Empty:
                break
            entry_id = self._in_flight.pop(mid, None)
            if entry_id is None:
                continue  # availability/state publishes are not outbox entries
            if ok:
                acknowledged.append(entry_id)
            else:
                refused = True
        if acknowledged:
            self._outbox.remove(acknowledged)  # one transaction for all that came back
        if refused:
            # The broker refused (an ACL, a quota): keep the entries on disk, wait, and start
            # over from the oldest rather than hammering it.
            self._stop.wait(RETRY_REFUSED_S)
            self._cursor = 0
            self._in_flight.clear()

    def _fill_window(self) -> None:
        room = self._window - len(self._in_flight)
        if room <= 0:
            return
        for entry in self._outbox.pending(self._cursor, room):
            self._cursor = entry.id
            try:
                body = entry.body()
            except OSError as exc:
                log.error("event=outbox_entry_unreadable id=%s topic=%s error=%s",
                          entry.id, entry.topic, exc)
                self._outbox.remove([entry.id])
                continue
            self._in_flight[self._publisher.publish(entry.topic, body, entry.retain)] = entry.id
