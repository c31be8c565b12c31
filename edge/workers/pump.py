"""Moves outbox entries to the broker in order, a bounded number in flight, and removes each
entry only when its PUBACK arrives. Unacknowledged entries stay on disk and go again after a
restart, so delivery is at least once.

A topic the broker refuses (an ACL that forgot `receipts/#`, say) is held: its entries stay on
disk and are offered again every `RETRY_REFUSED_S`, in order, while every other topic goes on.
Refused entries must not stall the rest: they would otherwise fill the window for good."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from typing import Protocol

from edge.journal.fault_log import FaultLog
from edge.journal.throttle import Throttle
from edge.store.outbox import Entry, Outbox
from edge.workers.outbox_worker import OutboxWorker

log = logging.getLogger(__name__)

RETRY_REFUSED_S = 30.0
REFUSALS_SAID_EVERY_S = 60.0
LOOK_AGAIN_S = 5.0
OUTBOX_FAULT_STOPS = "events and photos wait in the outbox, unsent"
OUTBOX_FAULT_FIX = (
    "check the data dir's disk (full, read-only or a failing SD card); what waits "
    "is sent once it can be read again"
)
REFUSED_FIX = (
    "let this device write the topic in the broker's ACL (see "
    "firmware_config/mosquitto/doorstep.acl); its messages wait on disk until then, "
    "and the other topics are not held up"
)


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int: ...


class OutboxPump(OutboxWorker):
    def __init__(
        self,
        outbox: Outbox,
        publisher: Publisher,
        window: int = 16,
        retry_refused_s: float = RETRY_REFUSED_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(outbox, "outbox-pump")
        self._publisher = publisher
        self._window = window
        self._retry_refused_s = retry_refused_s
        self._clock = clock
        self._acks: queue.SimpleQueue[tuple[int, bool]] = queue.SimpleQueue()
        self._in_flight: dict[int, Entry] = {}  # paho mid -> outbox entry
        self._cursor = 0  # highest entry id handed to paho, or held back with its topic
        self._held: dict[str, float] = {}  # a refused topic -> when to offer it again
        self._parked: dict[str, list[int]] = {}  # a held topic -> its entries' ids, in order
        self._refusals = Throttle(REFUSALS_SAID_EVERY_S)  # topics are per delivery: one line
        self._faults = FaultLog("outbox", OUTBOX_FAULT_STOPS, OUTBOX_FAULT_FIX, log)

    def acknowledged(self, mid: int, ok: bool) -> None:
        """Called from paho's thread: only records, the pump thread does the work."""
        self._acks.put((mid, ok))
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            # Woken by new rows and acknowledgements; and now and then anyway, for rows that
            # another process queued (`doorstep photos erase`) and topics held after a refusal.
            self._wake.wait(timeout=self._next_look())
            self._wake.clear()
            try:
                self.pump_now()
            except Exception as exc:  # noqa: BLE001 - the disk, most likely: said, not a
                self._faults.failed(exc, time.monotonic())  # traceback every few seconds
                continue
            self._faults.ok(time.monotonic())

    def _next_look(self) -> float:
        if not self._held:
            return LOOK_AGAIN_S
        return max(0.0, min(LOOK_AGAIN_S, min(self._held.values()) - self._clock()))

    def pump_now(self) -> None:
        """Settle the acknowledgements and fill the window, on the caller's thread (the pump's
        own, or a loop that runs many devices without a thread each: simulator/fleet)."""
        self._settle_acks()
        self._fill_window()

    def _settle_acks(self) -> None:
        acknowledged: list[int] = []
        while True:
            try:
                mid, ok = self._acks.get_nowait()
            except queue.Empty:
                break
            entry = self._in_flight.pop(mid, None)
            if entry is None:
                continue  # availability/state publishes are not outbox entries
            if ok:
                acknowledged.append(entry.id)
            else:
                self._hold(entry)
        if acknowledged:
            self._outbox.remove(acknowledged)  # one transaction for all that came back

    def _hold(self, entry: Entry) -> None:
        """The broker refused ``entry`` (an ACL, a quota): it stays on disk, and its topic
        waits before it is offered again, rather than hammering the broker."""
        now = self._clock()
        self._held[entry.topic] = now + self._retry_refused_s
        self._park(entry)
        if self._refusals.due(now):
            log.warning(
                'event=topic_refused topic=%s refused=%s retry_s=%g fix="%s"',
                entry.topic,
                self._refusals.take(),
                self._retry_refused_s,
                REFUSED_FIX,
            )

    def _park(self, entry: Entry) -> None:
        """Set ``entry`` aside with its topic's others, in id order (a refused one may be
        older than one parked behind it)."""
        parked = self._parked.setdefault(entry.topic, [])
        if entry.id not in parked:
            parked.append(entry.id)
            parked.sort()

    def _fill_window(self) -> None:
        """The window's room goes first to a held topic whose wait is over (its oldest entries
        first), then to what is new. An entry whose topic still has entries parked goes behind
        them, so each topic keeps its order."""
        now = self._clock()
        for topic in [t for t, until in self._held.items() if until <= now]:
            del self._held[topic]
        room = self._window - len(self._in_flight)
        for topic in [t for t in self._parked if t not in self._held]:
            if room <= 0:
                return
            waiting = self._parked.pop(topic)
            if waiting[room:]:
                self._parked[topic] = waiting[room:]
            self._send(self._outbox.entries(waiting[:room]))
            room = self._window - len(self._in_flight)
        while room > 0:
            batch = self._outbox.pending(self._cursor, room)
            for entry in batch:
                self._cursor = entry.id
                if entry.topic in self._parked:
                    self._park(entry)
                else:
                    self._send([entry])
            if len(batch) < room:
                return  # nothing more waits
            room = self._window - len(self._in_flight)

    def _send(self, entries: list[Entry]) -> None:
        for entry in entries:
            try:
                body = entry.body()
            except OSError as exc:
                log.error(
                    "event=outbox_entry_unreadable id=%s topic=%s error=%s",
                    entry.id,
                    entry.topic,
                    exc,
                )
                self._outbox.remove([entry.id])
                continue
            self._in_flight[self._publisher.publish(entry.topic, body, entry.retain)] = entry
