"""The core loop: one queue, one thread. It feeds inputs to the pure domain and carries out the
Transition each step returns, always in the same order:

1. a relock, at once: not even the disk stands between that decision and the relay;
2. the step's durable record, in one transaction (if it fails, the machine decides again
   with RecordFailed: a pass that could not be marked as used opens nothing; what stands,
   a relock and the outcome it reached, is owed: kept in memory and written with the next
   record the disk takes, so the report is true once there is room again);
3. an unlock, only now that its pass is on disk;
4. the outward actions (photos, a fresh-frame proof), through the Effects port;
5. the retained `state`, when what it shows changed.

paho, gpiozero and the camera worker only enqueue; nothing else decides. Deadlines need no
timer thread: a due deadline is handled before anything queued, and a Tick comes at least
every second, however busy the queue, so a jump of the wall clock is noticed promptly too.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from edge import __version__
from edge.domain import machine
from edge.domain.model import (
    DriveLock, Input, LockReading, LockSensed, Now, PassRejected, Record, RecordFailed, Rules,
    State, StorageHealth, Tick, Transition,
)
from edge.domain.owner import parse_owner
from edge.domain.passes import Reason, Rejection
from edge.effects import Effects
from edge.contract.events import rfc3339
from edge.failures import DAMAGED_FIX, damaged, expected
from edge.fault_log import FaultLog
from edge.hardware import Lock
from edge.inbox import Inbound, Inbox, Junk
from edge.store.ledger import log_unrecorded

log = logging.getLogger(__name__)

MAX_WAIT_S = 1.0
MAX_OWED_EVENTS = 1000  # a disk full for days must not fill the memory instead
LOCK_DRIVE_FIX = {  # by target: what the homeowner can do when the relay cannot be driven
    True: "the door may still be unlocked: check the lock relay's wiring and [hardware.pins] "
          "lock_relay, or lock it by hand; the device keeps re-driving it",
    False: "the door stays locked: check the lock relay's wiring and [hardware.pins] lock_relay",
}
DEADLINE_FAULT_STOPS = ("the timers that relock, check the lock and expire grants cannot run: "
                        "the lock is driven locked as soon as the door reads closed")
DEADLINE_FAULT_FIX = ("this is a bug in doorstep: restart it (sudo systemctl restart doorstep; "
                      "a start drives the lock locked first) and report this log")
RECORD_FIX = ("free space on the data dir's disk, or replace a read-only or failing SD card: "
              "until the database can be written, no pass opens the door")

_STOP = object()


def owing(owed: Record, record: Record) -> Record:
    """``record`` after what is owed: its events, photos and retained messages in order, and
    the newest deliveries and settings (each record carries them whole)."""
    if not owed:
        return record
    return Record(
        consume=record.consume,
        deliveries=record.deliveries if record.deliveries is not None else owed.deliveries,
        photos=owed.photos + record.photos, events=owed.events + record.events,
        retained=owed.retained + record.retained,
        settings=record.settings if record.settings is not None else owed.settings)


class Admits(Protocol):
    """Turns a `cmd/*` message into a domain input (edge.intake.PassIntake)."""

    def admit(self, name: str, payload: bytes, now: float) -> Input: ...


class Records(Protocol):
    """Makes a step's record durable, all or nothing (edge.store.ledger.Ledger)."""

    def commit(self, record: Record, now: Now) -> None: ...


class Core:
    def __init__(self, *, inbox: Inbox, rules: Rules, state: State, intake: Admits,
                 ledger: Records, lock: Lock, effects: Effects,
                 publish_state: Callable[[bytes], None], clock: Callable[[], Now],
                 heartbeat: Callable[[], None] = lambda: None,
                 on_tick: Callable[[State, Now], list[Input]] = lambda state, now: []) -> None:
        self.inbox = inbox
        self.state = state
        self._rules = rules
        self._intake = intake
        self._ledger = ledger
        self._lock = lock
        self._effects = effects
        self._publish_state = publish_state
        self._now = clock
        self._heartbeat = heartbeat
        self._on_tick = on_tick  # housekeeping: it may hand back inputs for the machine
        self._shown: dict[str, Any] | None = None
        self._calm_until = 0.0  # monotonic: no immediate Tick before this (one just failed)
        self._tick_by = 0.0  # monotonic: the next Tick, at the latest (busy queue or not)
        self._deadline_log = FaultLog("deadline", DEADLINE_FAULT_STOPS, DEADLINE_FAULT_FIX, log)
        self._locked_for_fault = False  # driven locked since the lock last read locked
        self._owed = Record()  # decided and standing, not yet on disk (a full disk)
        self.alive = threading.Event()

    def stop(self) -> None:
        self.inbox.put(_STOP)

    def run(self) -> None:
        """Run until stop(); whatever happens, leave the lock driven locked."""
        try:
            self.resume()
            self.alive.set()
            while True:
                self._heartbeat()  # from this loop only: if it is stuck, the watchdog fires
                item = self._next_item()
                if item is _STOP:
                    return
                self.take(item)
        finally:
            self.alive.clear()
            self._relock_for_exit()

    def take(self, item: Input | Inbound | Junk) -> None:
        """One item as the loop takes it: a step that raises (a bug) is logged, and the loop
        goes on."""
        try:
            self.handle(item)
        except Exception as exc:
            if isinstance(item, Tick):
                self._deadline_failed(exc)
            else:
                log.exception("event=core_input_failed input=%r", type(item).__name__)
        else:
            if isinstance(item, Tick):
                self._deadline_log.ok(self._now().mono)

    def _deadline_failed(self, exc: Exception) -> None:
        """A bug in a due deadline's step. It is said once with its traceback, then reminded
        a minute, and tried again in a second, not in a tight loop that would starve the
        queue. The timers that relock cannot be trusted meanwhile, so a lock that does not
        read locked is driven locked (fail secure), but only once the door reads closed: a
        bolt thrown into an open door would keep it from closing."""
        now = self._now()
        self._calm_until = now.mono + MAX_WAIT_S
        self._deadline_log.failed(exc, now.mono)
        if self.state.lock == LockReading.LOCKED:
            self._locked_for_fault = False  # driven again if an unlock comes meanwhile
        elif not (self.state.door_open or self._locked_for_fault):
            self._locked_for_fault = True  # once: a jammed bolt is not hammered every second
            self._drive(True)

    def resume(self) -> None:
        """The first step after a start, with the lock already driven locked."""
        now = self._now()
        self._carry_out(machine.resume(self.state, now, self._rules), None, now)

    def handle(self, item: Input | Inbound | Junk) -> None:
        """One item from the queue, on the core thread (tests call it directly)."""
        now = self._now()
        if isinstance(item, Junk):
            for cmd, reason, count in item.tally:
                self.apply(PassRejected(Rejection(cmd, Reason(reason)), count), now)
        elif isinstance(item, Inbound) and item.kind == "owner":
            self.apply(parse_owner(item.name, item.payload, item.live), now)
        elif isinstance(item, Inbound):
            self.apply(self._intake.admit(item.name, item.payload, now.wall), now)
        elif isinstance(item, Tick):
            try:
                self.apply(item, now)  # a due relock first: never behind an hourly compaction
            finally:
                self._housekeeping(now)  # and run even when the deadline's step fails
        else:
            self.apply(item, now)

    def _housekeeping(self, now: Now) -> None:
        """After the machine's Tick, and whatever fails here, nothing else is held back."""
        try:
            found = self._on_tick(self.state, now)
        except Exception:
            log.exception("event=housekeeping_failed")
            return
        for event in found:
            self.apply(event, now)

    def apply(self, event: Input, now: Now) -> None:
        self._carry_out(machine.step(self.state, event, now, self._rules), event, now)

    # --- carrying out a transition ----------------------------------------------------------

    def _carry_out(self, t: Transition, event: Input | None, now: Now) -> None:
        if t.lock == DriveLock(True):
            self._drive(True)
        try:
            self._ledger.commit(owing(self._owed, t.record), now)
            if self._owed:
                log.info("event=owed_record_written events=%s", len(self._owed.events))
                self._owed = Record()
        except Exception as exc:
            # A full disk or a failing card (OSError, sqlite3.Error) is one line; anything else
            # is a bug and gets its traceback. Either way the machine decides what still holds.
            log.error("event=record_not_written error=\"%s\" fix=\"%s\"", exc,
                      DAMAGED_FIX if damaged(exc) else RECORD_FIX, exc_info=not expected(exc))
            if event is not None and not isinstance(event, RecordFailed):
                self._carry_out(machine.step(self.state, RecordFailed(event, str(exc)), now,
                                             self._rules), RecordFailed(event, str(exc)), now)
                if damaged(exc) and "database" not in self.state.storage_full:
                    self.apply(StorageHealth("database", ok=False), now)  # its record is owed
                return
            self._owe(t.record, str(exc))
        self.state = t.state
        if t.lock == DriveLock(False):
            self._drive(False)
        for action in t.actions:
            try:
                self._effects.carry_out(action)
            except Exception:  # one failing part must not stop the rest
                log.exception("event=action_failed action=%r", action)
        self._show_state(now)

    def _owe(self, record: Record, error: str) -> None:
        """What the machine decided stands (a relock, the outcome it reached), but the disk
        took none of it: kept, to go with the next record the disk takes. A used pass is not
        owed: the machine refused what needed it."""
        owed = owing(self._owed, replace(record, consume=None))
        if len(owed.events) > MAX_OWED_EVENTS:
            dropped = owed.events[:-MAX_OWED_EVENTS]
            log_unrecorded(Record(events=dropped), error)
            owed = replace(owed, events=owed.events[-MAX_OWED_EVENTS:])
        if owed:
            log.warning("event=record_owed events=%s detail=\"kept in memory, written as soon "
                        "as the disk takes it\"", len(owed.events))
        self._owed = owed

    def _drive(self, locked: bool) -> None:
        """Drive the relay and queue what the lock then reads. A relay that cannot be driven
        does not stop the step: the machine's verify deadline finds the lock not locked, says
        `alarm.lock_fault` and re-drives it on a backoff (not in a tight loop of failures)."""
        target = "locked" if locked else "unlocked"
        try:
            self._lock.drive(locked)
            reading = self._lock.sensed()  # a lock without a sensor reads its relay
        except Exception as exc:
            log.error("event=lock_drive_failed target=%s error=\"%s\" fix=\"%s\"", target, exc,
                      LOCK_DRIVE_FIX[locked], exc_info=not expected(exc))
            return
        log.info("event=lock_driven target=%s", target)
        self.inbox.put(LockSensed(reading))

    def _relock_for_exit(self) -> None:
        """Drive the lock locked and let the retained state say so before `offline` goes out.
        A delivery that held the door is finished `interrupted` at the next start."""
        self._lock.drive(True)
        log.info("event=lock_driven target=locked reason=stopping")
        try:
            self.apply(LockSensed(self._lock.sensed()), self._now())
        except Exception:
            log.exception("event=final_state_not_published")

    def _next_item(self) -> Any:
        """A due deadline comes before anything queued: however busy the queue (a flood of
        messages, say), a relock is never starved. A deadline whose step just failed waits a
        second instead, so it cannot starve the queue either. And a Tick comes at least once
        a second however busy the queue is: the housekeeping on it (the clock, the outbox's
        quota, what the inbox dropped) is not starved by a flood either."""
        now = self._now()
        wake = machine.next_wake(self.state, now)
        if wake is not None:
            wake = max(wake, self._calm_until - now.mono)
        wait = min(MAX_WAIT_S if wake is None else wake, self._tick_by - now.mono)
        if wait <= 0:
            return self._tick(now)
        try:
            return self.inbox.get(timeout=wait)
        except queue.Empty:
            return self._tick(self._now())

    def _tick(self, now: Now) -> Tick:
        self._tick_by = now.mono + MAX_WAIT_S
        return Tick()

    def _show_state(self, now: Now) -> None:
        shown = machine.public_state(self.state, self._rules)
        if shown == self._shown:
            return
        self._shown = shown
        body = {**shown, "version": __version__,
                "ts": rfc3339(datetime.fromtimestamp(now.wall, UTC))}
        self._publish_state(json.dumps(body).encode())
