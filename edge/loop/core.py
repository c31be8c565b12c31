"""The core loop, the scheduler: one queue, one thread. It takes the next item (a due deadline
before anything queued; a Tick at least every second, however busy the queue, so a jump of
the wall clock is noticed promptly too), feeds it to the pure domain, and hands each
Transition to the executor (edge.loop.executor), which carries it out in the seam's fixed order and
hands back the inputs that produced (the lock's reading, a record that failed). Those go to
the machine next, before anything queued: nothing loops back through the inbox.

paho, gpiozero and the camera worker only enqueue; nothing else decides.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from edge.domain import machine
from edge.domain.model import (
    Input,
    LockReading,
    LockSensed,
    Now,
    PassRejected,
    Rules,
    State,
    Tick,
    Transition,
)
from edge.domain.owner import parse_owner
from edge.domain.passes import Reason, Rejection
from edge.journal.fault_log import FaultLog
from edge.loop.executor import Executor, Ports
from edge.loop.inbox import Inbound, Inbox, Junk

log = logging.getLogger(__name__)

MAX_WAIT_S = 1.0
MAX_FOLLOW_UPS = 64  # inputs one step may lead to (a reading, a failed record): a bug's bound
DEADLINE_FAULT_STOPS = (
    "the timers that relock, check the lock and expire grants cannot run: "
    "the lock is driven locked as soon as the door reads closed"
)
DEADLINE_FAULT_FIX = (
    "this is a bug in doorstep: restart it (sudo systemctl restart doorstep; "
    "a start drives the lock locked first) and report this log"
)

_STOP = object()


class Core:
    def __init__(
        self,
        *,
        inbox: Inbox,
        rules: Rules,
        state: State,
        ports: Ports,
        clock: Callable[[], Now],
        heartbeat: Callable[[], None] = lambda: None,
        on_tick: Callable[[State, Now], list[Input]] = lambda state, now: [],
    ) -> None:
        self.inbox = inbox
        self.state = state
        self._rules = rules
        self._ports = ports
        self._executor = Executor(ports, rules)
        self._now = clock
        self._heartbeat = heartbeat
        self._on_tick = on_tick  # housekeeping: it may hand back inputs for the machine
        self._calm_until = 0.0  # monotonic: no immediate Tick before this (one just failed)
        self._tick_by = 0.0  # monotonic: the next Tick, at the latest (busy queue or not)
        self._deadline_log = FaultLog("deadline", DEADLINE_FAULT_STOPS, DEADLINE_FAULT_FIX, log)
        self._locked_for_fault = False  # driven locked since the lock last read locked
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
            for reading in self._executor.drive(True):
                self.inbox.put(reading)

    def resume(self) -> None:
        """The first step after a start, with the lock already driven locked."""
        now = self._now()
        self._run(machine.resume(self.state, now, self._rules), None, now)

    def handle(self, item: Input | Inbound | Junk) -> None:
        """One item from the queue, on the core thread (tests call it directly)."""
        now = self._now()
        if isinstance(item, Junk):
            for cmd, reason, count in item.tally:
                self.apply(PassRejected(Rejection(cmd, Reason(reason)), count), now)
        elif isinstance(item, Inbound) and item.kind == "owner":
            self.apply(parse_owner(item.name, item.payload, item.live), now)
        elif isinstance(item, Inbound):
            self.apply(self._ports.intake.admit(item.name, item.payload, now.wall), now)
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
        self._run(machine.step(self.state, event, now, self._rules), event, now)

    def _run(self, t: Transition, event: Input | None, now: Now) -> None:
        """Carry out ``t``, then the steps of the inputs it produced, in order, before anything
        queued."""
        self.state, produced = self._executor.carry_out(self.state, t, event, now)
        for _ in range(MAX_FOLLOW_UPS):
            if not produced:
                return
            event, produced = produced[0], produced[1:]
            self.state, more = self._executor.carry_out(
                self.state, machine.step(self.state, event, now, self._rules), event, now
            )
            produced = more + produced
        if produced:
            log.error(
                'event=follow_ups_cut count=%s detail="a step kept producing inputs (a '
                'bug); the rest are dropped and the loop goes on"',
                MAX_FOLLOW_UPS,
            )

    def _relock_for_exit(self) -> None:
        """Drive the lock locked and let the retained state say so before `offline` goes out.
        A delivery that held the door is finished `interrupted` at the next start."""
        self._ports.lock.drive(True)
        log.info("event=lock_driven target=locked reason=stopping")
        try:
            self.apply(LockSensed(self._ports.lock.sensed()), self._now())
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
