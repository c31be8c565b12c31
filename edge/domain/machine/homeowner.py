"""The homeowner's commands (docs/protocol.md §8): lock, the in-home switch, a snapshot, and an
unlock by code, which the camera must watch like a courier's."""

from __future__ import annotations

from dataclasses import replace

from edge.domain.machine import proof
from edge.domain.machine.common import Result, holder, rejected
from edge.domain.machine.lifecycle import Trigger, fire, listed
from edge.domain.model import (
    Action,
    Capture,
    CaptureRequest,
    CheckCode,
    DriveLock,
    Emit,
    EventType,
    LockReading,
    Now,
    OwnerHold,
    Purpose,
    Rules,
    State,
)
from edge.domain.owner import (
    CODE_WINDOW_S,
    LOCKOUT_S,
    SNAPSHOT_EVERY_S,
    WRONG_CODES_ALLOWED,
    OwnerUnlock,
)
from edge.domain.passes import Reason, Rejection

OWNER_CMD = "owner/lock"


def owner_lock(state: State, now: Now, rules: Rules) -> Result:
    """Relock now, always: a delivery holding the door completes `cancelled`, an unlock still
    waiting for its camera proof is refused, a door nobody holds is driven locked."""
    actions: list[Action] = []
    pending = state.unlock_pending
    if pending is not None:
        state = replace(state, unlock_pending=None)
        actions.append(
            rejected(Rejection(pending.cmd, Reason.WRONG_STATE, pending.jti), pending.delivery_id)
        )
    delivery = holder(state)
    if delivery is not None and listed(delivery, Trigger.OWNER_LOCK):
        state, relock = fire(state, delivery, Trigger.OWNER_LOCK, now, rules)
    else:
        state, relock = replace(state, lock_target=LockReading.LOCKED), [DriveLock(True)]
    return replace(state, lock_source="owner"), actions + relock


def owner_in_home(state: State, enabled: bool) -> Result:
    """From now on; kept across restarts. A door already unlocked finishes its sequence."""
    state = replace(state, settings=replace(state.settings, in_home=enabled))
    return state, [Emit(EventType.OWNER_IN_HOME, None, {"enabled": enabled})]


def owner_snapshot(state: State, now: Now) -> Result:
    if state.snapshot_at is not None and now.mono - state.snapshot_at < SNAPSHOT_EVERY_S:
        return state, [rejected(Rejection("owner/snapshot", Reason.RATE_LIMITED))]
    return replace(state, snapshot_at=now.mono), [Capture(CaptureRequest(Purpose.OWNER, None))]


def owner_unlock(state: State, request: OwnerUnlock, now: Now, rules: Rules) -> Result:
    """Refusals in the protocol's order: disabled, locked out, then (once the code is checked,
    off this thread) a bad code, busy, the camera, a jammed lock."""

    def reject(reason: Reason) -> Result:
        return state, [rejected(Rejection(OWNER_CMD, reason))]

    if not rules.owner_unlock:
        return reject(Reason.OWNER_UNLOCK_DISABLED)
    if _locked_out(state, now):
        return reject(Reason.LOCKED_OUT)
    if not request.well_formed:
        return _wrong_code(state, now)
    if state.code_check is not None:
        return reject(Reason.BUSY)  # one code at a time
    check_id = state.checks_asked + 1
    return replace(state, code_check=check_id, checks_asked=check_id), [
        CheckCode(check_id, request.code)
    ]


def on_code_checked(state: State, check_id: int, ok: bool, now: Now, rules: Rules) -> Result:
    if check_id != state.code_check:
        return state, []
    state = replace(state, code_check=None)
    if not ok:
        return _wrong_code(state, now)
    state = replace(state, settings=replace(state.settings, wrong_codes=()))
    if holder(state) is not None or state.unlock_pending is not None:
        return state, [rejected(Rejection(OWNER_CMD, Reason.BUSY))]
    return proof.ask(state, None, now, rules)


def _locked_out(state: State, now: Now) -> bool:
    """Either clock says the lockout still runs: the monotonic one within this run (a forward
    step of the wall clock does not end it), the wall clock's kept end after a restart."""
    until = state.settings.locked_out_until
    mono = state.locked_out_mono
    return (until is not None and now.wall < until) or (mono is not None and now.mono < mono)


def _wrong_code(state: State, now: Now) -> Result:
    """Counted towards a lockout: 5 wrong codes within 10 minutes lock owner unlock out for
    15 minutes, across restarts (the count is in the settings)."""
    recent = tuple(t for t in state.settings.wrong_codes if now.wall - t < CODE_WINDOW_S)
    recent += (now.wall,)
    settings = replace(state.settings, wrong_codes=recent)
    if len(recent) >= WRONG_CODES_ALLOWED:
        settings = replace(settings, wrong_codes=(), locked_out_until=now.wall + LOCKOUT_S)
        state = replace(state, locked_out_mono=now.mono + LOCKOUT_S)
    return replace(state, settings=settings), [rejected(Rejection(OWNER_CMD, Reason.BAD_CODE))]


def owner_unlocked(state: State, now: Now, rules: Rules) -> Result:
    """The camera is watching: the homeowner holds the door, with the relock rules of an
    in-home delivery (unlock timeout, relock after the door closes, verification)."""
    current = holder(state)
    if current is not None:  # a delivery took the door while the camera answered
        return state, [rejected(Rejection(OWNER_CMD, Reason.BUSY))]
    if state.lock == LockReading.JAMMED:
        return state, [rejected(Rejection(OWNER_CMD, Reason.LOCK_FAULT))]
    state = replace(
        state,
        owner_hold=OwnerHold(due=now.mono + rules.unlock_timeout_s),
        lock_target=LockReading.UNLOCKED,
        lock_source="owner",
    )
    return state, [DriveLock(False), Emit(EventType.OWNER_UNLOCKED, None)]
