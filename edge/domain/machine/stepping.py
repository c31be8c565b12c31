"""``step(state, input, now, rules) -> Transition``: route an input to its handler, then sort
what it decided into the Transition, the one seam the core sees (see model.Transition for the
order). It never performs I/O. The lock moves only through ``Transition.lock``: unlocked for
exactly one accepted in-home `at_door` (or the homeowner's code), once the camera has proved it
is watching with a fresh frame, and driven locked again on every path out of the in-home
sequence (docs/protocol.md §3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from edge.domain import rejections, signals
from edge.domain.machine import clips, courier, homeowner, world
from edge.domain.machine.common import Result, hold_id, holder, holds, rejected
from edge.domain.machine.health import on_camera, on_storage
from edge.domain.machine.lifecycle import Trigger, fire, listed
from edge.domain.machine.unlock import on_proof
from edge.domain.model import (
    Action,
    CameraHealth,
    Capture,
    CheckCode,
    ClipFailed,
    ClipTaken,
    ClockChecked,
    CodeChecked,
    ConsumeJti,
    DoorbellPressed,
    DoorMoved,
    DriveLock,
    Emit,
    EventType,
    Film,
    FrameProof,
    Input,
    LockReading,
    LockSensed,
    Now,
    Outward,
    PassRejected,
    PassVerified,
    Phase,
    PhotoFailed,
    PhotoTaken,
    ProveCamera,
    Record,
    RecordFailed,
    Retain,
    Rules,
    ShareClip,
    SharePhoto,
    Sound,
    State,
    StorageHealth,
    Tick,
    Transition,
    UploadRejected,
    Watch,
)
from edge.domain.owner import (
    LOCKOUT_S,
    OwnerInHome,
    OwnerLock,
    OwnerRejected,
    OwnerSnapshot,
    OwnerUnlock,
)
from edge.domain.passes import Reason, Rejection


def step(state: State, event: Input, now: Now, rules: Rules) -> Transition:
    before = state
    state, actions = _decide(state, event, now, rules)
    # A step decided again because its record failed is still that step (a Tick still flushes).
    original = event.original if isinstance(event, RecordFailed) else event
    repeat = original.count if isinstance(original, PassRejected) else 1
    windows = state.rejection_windows
    signed = isinstance(original, PassVerified) or (
        isinstance(original, PassRejected) and original.signed
    )
    if not signed:  # the cloud's own passes are always answered; junk is coalesced
        windows, actions = rejections.coalesce(windows, actions, now.mono, repeat)
    if isinstance(original, Tick):
        windows, summaries = rejections.flush(windows, now.mono)
        actions += summaries
    return transition(before, replace(state, rejection_windows=windows), actions, rules)


def transition(before: State, after: State, actions: list[Action], rules: Rules) -> Transition:
    """Sort what a step decided into the seam: the durable record, the lock, the rest. Every
    change of the lock's reading is told (`lock.changed`), with who moved it: before a
    `delivery.completed` it caused (a delivery's last event is its completion, and its receipt
    lists the relock)."""
    if after.lock != before.lock:
        current = holder(after) or holder(before)
        changed = Emit(
            EventType.LOCK_CHANGED,
            hold_id(current) if current else None,
            {
                "from": str(before.lock),
                "to": str(after.lock),
                "source": after.lock_source or "manual",
            },
        )
        at = next(
            (
                n
                for n, a in enumerate(actions)
                if isinstance(a, Emit) and a.type is EventType.DELIVERY_COMPLETED
            ),
            len(actions),
        )
        actions = [*actions[:at], changed, *actions[at:]]
    if after.lock_source is not None and after.lock == after.lock_target:
        after = replace(after, lock_source=None)  # the move is done; the next one is news
    consume = [a for a in actions if isinstance(a, ConsumeJti)]
    locks = [a for a in actions if isinstance(a, DriveLock)]
    assert len(consume) <= 1 and len(locks) <= 1, actions
    record = Record(
        consume=consume[0] if consume else None,
        deliveries=after.deliveries if holds(after) != holds(before) else None,
        owner_hold=after.owner_hold,
        photos=tuple(a for a in actions if isinstance(a, SharePhoto)),
        clips=tuple(a for a in actions if isinstance(a, ShareClip)),
        events=tuple(a for a in actions if isinstance(a, Emit)),
        retained=tuple(a for a in actions if isinstance(a, Retain)),
        settings=after.settings if after.settings != before.settings else None,
    )
    outward: list[Outward] = [
        a for a in actions if isinstance(a, (Capture, ProveCamera, CheckCode, Film))
    ]
    outward += [Sound(tune) for tune in signals.tunes(record.events)]
    shown = signals.indicate(after)
    if shown != signals.indicate(before):
        outward.append(shown)
    held = holder(after) is not None
    if held != (holder(before) is not None):  # someone let in, or the door relocked
        outward.append(Watch(held))
    outward += clips.filming(before, after, rules)
    return Transition(after, record, locks[0] if locks else None, tuple(outward))


def _decide(state: State, event: Input, now: Now, rules: Rules) -> Result:
    if isinstance(event, RecordFailed):
        return _unrecorded(state, event, now, rules)
    return _route(state, event, now, rules)


def _unrecorded(state: State, failed: RecordFailed, now: Now, rules: Rules) -> Result:
    """The record of a step could not be written (its events are lost; the log says so). A
    pass that could not be marked as used is not acted on: refused `storage_error`, and the
    door stays as it was. The homeowner's unlock, which uses no pass, is refused the same way:
    the door never opens without its record. A relock stands, used pass or not: it has already
    happened. Any other step stands too, and its record is tried once more."""
    after, actions = _route(state, failed.original, now, rules)
    consume = next((a for a in actions if isinstance(a, ConsumeJti)), None)
    if DriveLock(True) in actions:
        return after, actions
    if consume is None and DriveLock(False) in actions:
        return replace(state, unlock_pending=None), [
            rejected(Rejection(homeowner.OWNER_CMD, Reason.STORAGE_ERROR), detail=failed.error)
        ]
    if consume is None:
        return after, actions
    used = (
        failed.original.pass_
        if isinstance(failed.original, PassVerified)
        else (state.unlock_pending.pass_ if state.unlock_pending is not None else None)
    )
    cmd, delivery_id = (used.cmd, used.delivery_id) if used is not None else ("at_door", None)
    return replace(state, unlock_pending=None), [
        rejected(
            Rejection(cmd, Reason.STORAGE_ERROR, consume.jti), delivery_id, detail=failed.error
        )
    ]


def _route(state: State, event: Input, now: Now, rules: Rules) -> Result:
    route = ROUTES.get(type(event))
    if route is None:
        raise TypeError(f"unknown input {event!r}")
    return route(state, event, now, rules)


def _pass_rejected(state: State, event: PassRejected, now: Now, rules: Rules) -> Result:
    if event.error is None:
        return state, [rejected(event.rejection)]
    state, said = on_storage(state, "database", ok=False)  # the database could not be read
    return state, [rejected(event.rejection, detail=event.error), *said]


def _upload_rejected(state: State, event: UploadRejected, now: Now, rules: Rules) -> Result:
    """Kept on the device for the homeowner; the cloud operator hears why."""
    return state, [
        Emit(
            EventType.PHOTO_UPLOAD_REJECTED,
            event.delivery_id,
            {"photo_id": event.photo_id, "status": event.status, "local_only": True},
        )
    ]


def _doorbell(state: State, rules: Rules) -> Result:
    photo = world.doorbell_request(state)
    return state, [Capture(photo), *clips.doorbell(photo, rules)]


Route = Callable[[State, Any, Now, Rules], Result]
ROUTES: dict[type, Route] = {  # every input, to its handler
    PassRejected: _pass_rejected,
    OwnerRejected: lambda state, e, now, rules: (state, [rejected(e.rejection)]),
    PassVerified: lambda state, e, now, rules: courier.on_pass(state, e.pass_, now, rules),
    FrameProof: on_proof,
    PhotoTaken: world.on_photo,
    PhotoFailed: world.on_photo,
    DoorbellPressed: lambda state, e, now, rules: _doorbell(state, rules),
    ClipTaken: clips.on_clip,
    ClipFailed: clips.on_clip,
    DoorMoved: lambda state, e, now, rules: world.on_door(state, e.open, now, rules),
    LockSensed: lambda state, e, now, rules: world.on_lock(state, e.lock, now, rules),
    CameraHealth: lambda state, e, now, rules: on_camera(state, e),
    ClockChecked: lambda state, e, now, rules: (replace(state, clock_synced=e.synced), []),
    StorageHealth: lambda state, e, now, rules: on_storage(state, e.area, e.ok),
    UploadRejected: _upload_rejected,
    Tick: lambda state, e, now, rules: world.on_tick(state, now, rules),
    OwnerLock: lambda state, e, now, rules: homeowner.owner_lock(state, now, rules),
    OwnerInHome: lambda state, e, now, rules: homeowner.owner_in_home(state, e.enabled),
    OwnerSnapshot: lambda state, e, now, rules: homeowner.owner_snapshot(state, now),
    OwnerUnlock: homeowner.owner_unlock,
    CodeChecked: lambda state, e, now, rules: homeowner.on_code_checked(
        state, e.check_id, e.ok, now, rules
    ),
}


def resume(state: State, now: Now, rules: Rules) -> Transition:
    """After a (re)start, with the lock already driven locked: a delivery that held the door
    when the process died ends `interrupted`; lost confirmation photos are taken again."""
    before = state
    crashed_open = holder(state) is not None
    state = replace(
        state,
        lock_target=LockReading.LOCKED,
        lock_source="startup",
        lock=LockReading.UNLOCKED if crashed_open else state.lock,
    )
    until = state.settings.locked_out_until
    if until is not None and now.wall < until:  # the lockout goes on, on this run's clock too
        state = replace(state, locked_out_mono=now.mono + min(until - now.wall, LOCKOUT_S))
    before = replace(before, lock=state.lock)  # what the lock was left at is no news yet
    actions: list[Action] = []
    for hold in holds(state):
        if listed(hold, Trigger.RESTART):
            state, more = fire(state, hold, Trigger.RESTART, now, rules)
            actions += more
    t = transition(before, state, actions, rules)
    shown = signals.indicate(t.state)  # the LED and buzzer start from what is true now
    return t if shown in t.actions else replace(t, actions=(*t.actions, shown))


def next_wake(state: State, now: Now) -> float | None:
    """Seconds until the next deadline is due (0 when overdue), or None when nothing is."""
    waits = [d.expires_at - now.wall for d in state.deliveries if d.phase is Phase.WAITING]
    for hold in holds(state):
        waits += [t - now.mono for t in (hold.due, hold.alarm_at, hold.photo_at) if t is not None]
    if state.lock_retry_at is not None:
        waits.append(state.lock_retry_at - now.mono)
    if state.unlock_pending is not None:
        waits.append(state.unlock_pending.deadline - now.mono)
    summary_due = rejections.next_flush(state.rejection_windows)
    if summary_due is not None:
        waits.append(summary_due - now.mono)
    return max(0.0, min(waits)) if waits else None
