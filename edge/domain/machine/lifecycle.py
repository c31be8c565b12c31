"""The delivery lifecycle, declared: ``TRANSITIONS[phase][trigger]`` is the one place a
delivery's phase changes (h11's style). A trigger the table does not list for a phase is
``NotInPhase``: a courier's command is then answered `wrong_state`, a fact (a door, a timer)
changes nothing. Each edge names where it may lead; docs/protocol.md's lifecycle diagram is
drawn from this table (edge/contract/lifecycle.py), and the property test holds every step to
it (tests/unit/test_machine_properties.py). ``fire`` does not check it at run time: a
declaration that drifted from its handler must never cost a relock its step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from edge.domain.machine.common import (
    Result,
    photo_of,
    photograph,
    put,
    put_hold,
    tell,
)
from edge.domain.machine.health import on_camera
from edge.domain.model import (
    CameraHealth,
    Capture,
    Delivery,
    DriveLock,
    Emit,
    EventType,
    Hold,
    LockReading,
    Now,
    Outcome,
    OwnerHold,
    Phase,
    Purpose,
    Retain,
    Rules,
    State,
)


class Trigger(StrEnum):
    UNLOCK = "unlock"  # the camera proved it is watching: the door opens for the courier
    DONE = "done"  # the courier's `done`
    CANCEL = "cancel"  # the cloud's `cancel`
    OWNER_LOCK = "owner lock"  # the homeowner's LOCK
    DOOR_OPENED = "door opened"
    DOOR_CLOSED = "door closed"
    LOCK_VERIFIED = "lock verified"  # the lock's sensor agrees it is locked
    DUE = "due"  # the phase's deadline passed
    EXPIRED = "expired"  # the grant's `exp` passed
    CONFIRMED = "confirmed"  # the last confirmation photo (and the unlocked window's clip) came
    RESTART = "restart"  # the daemon started again with this delivery on record


COMPLETED = "completed"  # where a delivery goes when it is over (it leaves the state)
Handler = Callable[[State, Hold, Now, Rules], Result]


@dataclass(frozen=True)
class Edge:
    handler: Handler
    to: tuple[Phase | str, ...]


class NotInPhase(Exception):
    def __init__(self, phase: Phase, trigger: Trigger) -> None:
        super().__init__(f"{trigger} is not allowed while {phase}")
        self.phase, self.trigger = phase, trigger


def fire(state: State, hold: Hold, trigger: Trigger, now: Now, rules: Rules) -> Result:
    """``hold`` (a delivery, or the homeowner's hold on the door) through the table's edge."""
    edge = TRANSITIONS[hold.phase].get(trigger)
    if edge is None:
        raise NotInPhase(hold.phase, trigger)
    return edge.handler(state, hold, now, rules)


def listed(hold: Hold, trigger: Trigger) -> bool:
    return trigger in TRANSITIONS[hold.phase]


def _courier(hold: Hold) -> Delivery:
    """The edges only a delivery reaches (waiting, confirming, a courier's commands)."""
    assert isinstance(hold, Delivery), hold
    return hold


# --- the handlers -------------------------------------------------------------------------


def unlock(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
    delivery = _courier(hold)
    unlocked = replace(delivery, phase=Phase.UNLOCKED, due=now.mono + rules.unlock_timeout_s)
    state = replace(put(state, unlocked), lock_target=LockReading.UNLOCKED, lock_source="pass")
    return state, [DriveLock(False), Emit(EventType.DELIVERY_UNLOCKED, delivery.id)]


def relock(outcome: Outcome | None) -> Handler:
    """Drive the lock locked and wait for its sensor; ``None`` keeps the outcome already
    decided (delivered when none was)."""

    def handler(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
        ends = outcome or hold.outcome or Outcome.DELIVERED
        relocking = replace(
            hold,
            phase=Phase.RELOCKING,
            outcome=ends,
            due=now.mono + rules.lock_verify_s,
            alarm_at=None,
            photo_at=None,
        )
        return replace(
            put_hold(state, relocking), lock_target=LockReading.LOCKED, lock_source="relock"
        ), [DriveLock(True)]

    return handler


def confirm(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
    """Confirmation photos; after an unlocked window, its clip too (it goes on `post_s` past
    the relock), so the receipt lists it. A restart lost the clip: only photos are waited for."""
    delivery = _courier(hold)
    count = max(1, rules.confirmation_photos)
    clip = rules.clips and delivery.phase is Phase.RELOCKING
    confirming = replace(
        delivery,
        phase=Phase.CONFIRMING,
        pending_photos=count,
        clip_pending=clip,
        due=now.mono + rules.photo_timeout_s + (rules.clip_post_s if clip else 0.0),
        outcome=Outcome.DELIVERED,
    )
    request = photo_of(delivery, Purpose.CONFIRMATION)
    return put(state, confirming), [Capture(request) for _ in range(count)]


def complete(outcome: Outcome) -> Handler:
    def handler(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
        return completed(state, hold, outcome)

    return handler


def completed(state: State, hold: Hold, outcome: Outcome) -> Result:
    """The delivery is over: told, and kept as the retained `last_delivery` for dashboards.
    The homeowner's hold just ends (its relock was told already)."""
    if isinstance(hold, OwnerHold):
        return replace(state, owner_hold=None), []
    delivery = hold
    remaining = tuple(d for d in state.deliveries if d.id != delivery.id)
    fields: dict[str, Any] = {
        "outcome": str(outcome),
        "mode": str(delivery.mode),
        "photos": list(delivery.photos),
    }
    if delivery.parcel_visible is not None:
        fields["parcel_visible"] = delivery.parcel_visible
    retained = {"delivery_id": delivery.id, **fields}  # §8's fields, as they were
    if delivery.clips:
        fields["clips"] = list(delivery.clips)
    return replace(state, deliveries=remaining), [
        Emit(EventType.DELIVERY_COMPLETED, delivery.id, fields),
        Retain("last_delivery", retained),
    ]


def done_while_open(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
    """Relock once the door closes. Said twice, the second is not in the table."""
    delivery = _courier(hold)
    if delivery.done_requested:
        raise NotInPhase(Phase.OPEN, Trigger.DONE)
    return put(state, replace(delivery, done_requested=True)), []


def cancel_while_relocking(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
    return put_hold(state, replace(hold, outcome=Outcome.CANCELLED)), []


def owner_lock_while_relocking(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
    state = put_hold(state, replace(hold, outcome=Outcome.CANCELLED))
    return replace(state, lock_target=LockReading.LOCKED), [DriveLock(True)]


def opened(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
    """Opened after a relock began too (the same instant as the unlock timeout, or a latch that
    did not catch): the lock stays driven locked; the courier is inside all the same."""
    outcome = None if hold.outcome is Outcome.NOT_ENTERED else hold.outcome
    photos = not isinstance(hold, OwnerHold)
    is_open = replace(
        hold,
        phase=Phase.OPEN,
        due=None,
        outcome=outcome,
        photo_at=now.mono + rules.open_photo_interval_s if photos else None,
        alarm_at=None if hold.alarmed else now.mono + rules.door_open_alarm_s,
    )
    return put_hold(state, is_open), [
        *tell(hold, EventType.DELIVERY_DOOR_OPENED),
        *photograph(hold, Purpose.DOOR_OPEN),
    ]


def closed(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
    shut = replace(
        hold, phase=Phase.CLOSED, photo_at=None, alarm_at=None, due=now.mono + rules.relock_delay_s
    )
    actions = tell(hold, EventType.DELIVERY_DOOR_CLOSED)
    if hold.done_requested or hold.outcome is Outcome.CANCELLED or rules.relock_delay_s <= 0:
        state, more = relock(None)(put_hold(state, shut), shut, now, rules)
        return state, actions + more
    return put_hold(state, shut), actions


def verified(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
    actions = tell(hold, EventType.DELIVERY_LOCKED, EventType.OWNER_RELOCKED)
    if hold.outcome is Outcome.DELIVERED and isinstance(hold, Delivery):
        state, more = confirm(state, hold, now, rules)
    else:
        state, more = completed(state, hold, hold.outcome or Outcome.DELIVERED)
    return state, actions + more


def lock_failed(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
    """The lock did not verify in time: jammed, alarm, outcome aborted, keep re-driving it."""
    retry = min(1.0, rules.lock_retry_max_s)
    state = replace(
        state, lock=LockReading.JAMMED, lock_retry_at=now.mono + retry, lock_retry_s=retry
    )
    state, done = completed(state, hold, Outcome.ABORTED)
    return state, [*tell(hold, EventType.ALARM_LOCK_FAULT, EventType.ALARM_LOCK_FAULT), *done]


def no_confirmation(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
    """The camera never answered. The courier is done all the same, and a camera that gives no
    frame is a fault (the worker reports it healthy again once it recovers). Only a clip still
    recording is no fault: the delivery completes without it, and the clip is told when done."""
    if _courier(hold).pending_photos <= 0:
        return completed(state, hold, Outcome.DELIVERED)
    state, alarm = on_camera(state, CameraHealth(False, "no confirmation photo came back"))
    state, done = completed(state, hold, Outcome.DELIVERED)
    return state, alarm + done


E, P = Edge, Phase
_END = (COMPLETED,)
_RELOCK = (P.RELOCKING,)
TRANSITIONS: dict[Phase, dict[Trigger, Edge]] = {
    P.WAITING: {
        Trigger.UNLOCK: E(unlock, (P.UNLOCKED,)),
        Trigger.DONE: E(confirm, (P.CONFIRMING,)),
        Trigger.CANCEL: E(complete(Outcome.CANCELLED), _END),
        Trigger.EXPIRED: E(complete(Outcome.EXPIRED), _END),
    },
    P.UNLOCKED: {
        Trigger.DOOR_OPENED: E(opened, (P.OPEN,)),
        Trigger.DONE: E(relock(Outcome.DELIVERED), _RELOCK),
        Trigger.CANCEL: E(relock(Outcome.CANCELLED), _RELOCK),
        Trigger.OWNER_LOCK: E(relock(Outcome.CANCELLED), _RELOCK),
        Trigger.DUE: E(relock(Outcome.NOT_ENTERED), _RELOCK),
        Trigger.RESTART: E(complete(Outcome.INTERRUPTED), _END),
    },
    P.OPEN: {
        Trigger.DOOR_CLOSED: E(closed, (P.CLOSED, P.RELOCKING)),
        Trigger.DONE: E(done_while_open, (P.OPEN,)),
        Trigger.CANCEL: E(relock(Outcome.CANCELLED), _RELOCK),
        Trigger.OWNER_LOCK: E(relock(Outcome.CANCELLED), _RELOCK),
        Trigger.RESTART: E(complete(Outcome.INTERRUPTED), _END),
    },
    P.CLOSED: {
        Trigger.DOOR_OPENED: E(opened, (P.OPEN,)),
        Trigger.DONE: E(relock(Outcome.DELIVERED), _RELOCK),
        Trigger.CANCEL: E(relock(Outcome.CANCELLED), _RELOCK),
        Trigger.OWNER_LOCK: E(relock(Outcome.CANCELLED), _RELOCK),
        Trigger.DUE: E(relock(None), _RELOCK),
        Trigger.RESTART: E(complete(Outcome.INTERRUPTED), _END),
    },
    P.RELOCKING: {
        Trigger.LOCK_VERIFIED: E(verified, (P.CONFIRMING, COMPLETED)),
        Trigger.DOOR_OPENED: E(opened, (P.OPEN,)),
        Trigger.CANCEL: E(cancel_while_relocking, _RELOCK),
        Trigger.OWNER_LOCK: E(owner_lock_while_relocking, _RELOCK),
        Trigger.DUE: E(lock_failed, _END),
        Trigger.RESTART: E(complete(Outcome.INTERRUPTED), _END),
    },
    P.CONFIRMING: {
        Trigger.CONFIRMED: E(complete(Outcome.DELIVERED), _END),
        Trigger.CANCEL: E(complete(Outcome.CANCELLED), _END),
        Trigger.DUE: E(no_confirmation, _END),
        Trigger.RESTART: E(confirm, (P.CONFIRMING,)),
    },
}
