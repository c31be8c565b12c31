"""Carrying out one Transition, always in the same order, and handing back the inputs that
produced (it never feeds them to the machine itself; the scheduler in edge.loop.core does):

1. a relock, at once: not even the disk stands between that decision and the relay;
2. the step's durable record, in one transaction. If it fails, the step is not adopted and
   ``RecordFailed`` comes back, for the machine to decide again (a pass that could not be
   marked as used opens nothing). What a step decided that stands (a relock, the outcome it
   reached) but the disk did not take is owed: kept in memory and written with the next
   record the disk takes, so the report is true once there is room again;
3. an unlock, only now that its pass is on disk;
4. the outward actions (photos, a fresh-frame proof), through the Effects port;
5. the retained `state`, when what it shows changed.

A drive of the lock hands back what the lock then reads (LockSensed).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from edge import __version__
from edge.contract.events import rfc3339
from edge.domain.machine.view import public_state
from edge.domain.model import (
    DriveLock,
    Input,
    LockSensed,
    Now,
    Record,
    RecordFailed,
    Rules,
    State,
    StorageHealth,
    Transition,
)
from edge.hardware import Lock
from edge.journal.failures import DAMAGED_FIX, damaged, expected
from edge.loop.effects import Effects
from edge.store.ledger import log_unrecorded

log = logging.getLogger(__name__)

MAX_OWED_EVENTS = 1000  # a disk full for days must not fill the memory instead
LOCK_DRIVE_FIX = {  # by target: what the homeowner can do when the relay cannot be driven
    True: "the door may still be unlocked: check the lock relay's wiring and [hardware.pins] "
    "lock_relay, or lock it by hand; the device keeps re-driving it",
    False: "the door stays locked: check the lock relay's wiring and [hardware.pins] lock_relay",
}
RECORD_FIX = (
    "free space on the data dir's disk, or replace a read-only or failing SD card: "
    "until the database can be written, no pass opens the door"
)


class Admits(Protocol):
    """Turns a `cmd/*` message into a domain input (edge.loop.intake.PassIntake)."""

    def admit(self, name: str, payload: bytes, now: float) -> Input: ...


class Records(Protocol):
    """Makes a step's record durable, all or nothing (edge.store.ledger.Ledger)."""

    def commit(self, record: Record, now: Now) -> None: ...


@dataclass(frozen=True)
class Ports:
    """What the core reaches outside the domain, each behind a small Protocol."""

    intake: Admits
    ledger: Records
    lock: Lock
    effects: Effects
    publish_state: Callable[[bytes], None]


def owing(owed: Record, record: Record) -> Record:
    """``record`` after what is owed: its events, photos and retained messages in order, and
    the newest deliveries and settings (each record carries them whole)."""
    if not owed:
        return record
    return Record(
        consume=record.consume,
        deliveries=record.deliveries if record.deliveries is not None else owed.deliveries,
        owner_hold=record.owner_hold if record.deliveries is not None else owed.owner_hold,
        photos=owed.photos + record.photos,
        events=owed.events + record.events,
        retained=owed.retained + record.retained,
        settings=record.settings if record.settings is not None else owed.settings,
    )


class Executor:
    def __init__(self, ports: Ports, rules: Rules) -> None:
        self._ports = ports
        self._rules = rules
        self._owed = Record()  # decided and standing, not yet on disk (a full disk)
        self._shown: dict[str, Any] | None = None

    def carry_out(
        self, state: State, t: Transition, event: Input | None, now: Now
    ) -> tuple[State, list[Input]]:
        """The state to go on from (``t``'s, unless its record failed) and the inputs the
        step produced, for the machine next."""
        readings: list[Input] = []  # what the lock reads once driven: after the step's own
        if t.lock == DriveLock(True):
            readings += self.drive(True)
        try:
            self._ports.ledger.commit(owing(self._owed, t.record), now)
            if self._owed:
                log.info("event=owed_record_written events=%s", len(self._owed.events))
                self._owed = Record()
        except Exception as exc:
            # A full disk or a failing card (OSError, sqlite3.Error) is one line; anything else
            # is a bug and gets its traceback. Either way the machine decides what still holds.
            log.error(
                'event=record_not_written error="%s" fix="%s"',
                exc,
                DAMAGED_FIX if damaged(exc) else RECORD_FIX,
                exc_info=not expected(exc),
            )
            if event is not None and not isinstance(event, RecordFailed):
                again: list[Input] = [RecordFailed(event, str(exc))]  # decided anew first
                if damaged(exc) and "database" not in state.storage_full:  # said once
                    again.append(StorageHealth("database", ok=False))
                return state, again + readings
            self._owe(t.record, str(exc))
        if t.lock == DriveLock(False):
            readings += self.drive(False)
        for action in t.actions:
            try:
                self._ports.effects.carry_out(action)
            except Exception:  # one failing part must not stop the rest
                log.exception("event=action_failed action=%r", action)
        self._show_state(t.state, now)
        return t.state, readings

    def drive(self, locked: bool) -> list[Input]:
        """Drive the relay; what the lock then reads. A relay that cannot be driven does not
        stop the step: the machine's verify deadline finds the lock not locked, says
        `alarm.lock_fault` and re-drives it on a backoff (not in a tight loop of failures)."""
        target = "locked" if locked else "unlocked"
        try:
            self._ports.lock.drive(locked)
            reading = self._ports.lock.sensed()  # a lock without a sensor reads its relay
        except Exception as exc:
            log.error(
                'event=lock_drive_failed target=%s error="%s" fix="%s"',
                target,
                exc,
                LOCK_DRIVE_FIX[locked],
                exc_info=not expected(exc),
            )
            return []
        log.info("event=lock_driven target=%s", target)
        return [LockSensed(reading)]

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
            log.warning(
                'event=record_owed events=%s detail="kept in memory, written as soon '
                'as the disk takes it"',
                len(owed.events),
            )
        self._owed = owed

    def _show_state(self, state: State, now: Now) -> None:
        shown = public_state(state, self._rules)
        if shown == self._shown:
            return
        self._shown = shown
        body = {
            **shown,
            "version": __version__,
            "ts": rfc3339(datetime.fromtimestamp(now.wall, UTC)),
        }
        self._ports.publish_state(json.dumps(body).encode())
