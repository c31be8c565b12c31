"""Facts from the world and from time: the door, the lock's sensor, photos, the doorbell, and
the timers a tick finds due. A fact the lifecycle does not list for a phase changes nothing."""

from __future__ import annotations

from dataclasses import replace

from edge.domain.machine import proof
from edge.domain.machine.common import (
    Result,
    find,
    holder,
    holds,
    photo_of,
    photograph,
    put,
    put_hold,
    tell,
)
from edge.domain.machine.lifecycle import Trigger, fire, listed
from edge.domain.model import (
    Action,
    CaptureRequest,
    Delivery,
    DriveLock,
    Emit,
    EventType,
    Hold,
    LockReading,
    Now,
    Phase,
    PhotoFailed,
    PhotoTaken,
    Purpose,
    Rules,
    SharePhoto,
    State,
)
from edge.domain.passes import Mode


def on_door(state: State, is_open: bool, now: Now, rules: Rules) -> Result:
    was_open, state = state.door_open, replace(state, door_open=is_open)
    delivery = holder(state)
    if delivery is None:
        return state, _unheld_door(state, is_open, was_open, rules)
    trigger = Trigger.DOOR_OPENED if is_open else Trigger.DOOR_CLOSED
    if not listed(delivery, trigger):
        return state, []
    return fire(state, delivery, trigger, now, rules)


def _unheld_door(state: State, is_open: bool, was_open: bool, rules: Rules) -> list[Action]:
    """The door moved with nobody let in: the homeowner's own comings and goings, told as
    `door.opened` / `door.closed`. Opened while the bolt's own sensor reads locked, it was
    forced (without a sensor, "locked" is only what the relay was told: no alarm)."""
    if is_open == was_open:
        return []
    if not is_open:
        return [Emit(EventType.DOOR_CLOSED, None)]
    actions: list[Action] = [Emit(EventType.DOOR_OPENED, None)]
    if rules.lock_sensed and state.lock == LockReading.LOCKED:
        actions.append(Emit(EventType.ALARM_FORCED_ENTRY, None))
    return actions


def on_lock(state: State, reading: LockReading, now: Now, rules: Rules) -> Result:
    if state.lock == LockReading.JAMMED and reading != LockReading.LOCKED:
        return state, []  # still jammed: the retry timer keeps re-driving it
    state = replace(state, lock=reading, lock_retry_at=None, lock_retry_s=0.0)
    delivery = holder(state)
    if (
        reading != LockReading.LOCKED
        or delivery is None
        or not listed(delivery, Trigger.LOCK_VERIFIED)
    ):
        return state, []
    return fire(state, delivery, Trigger.LOCK_VERIFIED, now, rules)


def on_tick(state: State, now: Now, rules: Rules) -> Result:
    actions: list[Action] = []
    for hold in holds(state):
        state, more = _timers(state, hold, now, rules)
        actions += more
    if state.lock_retry_at is not None and state.lock_retry_at <= now.mono:
        state, more = _retry_lock(state, now, rules)
        actions += more
    pending = state.unlock_pending
    if pending is not None and pending.deadline <= now.mono:
        state, more = proof.unwatched(
            replace(state, unlock_pending=None),
            pending,
            f"no fresh frame within {rules.camera_proof_s:g} s",
        )
        actions += more
    return state, actions


def _timers(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
    if hold.phase is Phase.WAITING:
        if isinstance(hold, Delivery) and hold.expires_at <= now.wall:
            return fire(state, hold, Trigger.EXPIRED, now, rules)
        return state, []
    if hold.phase is Phase.OPEN:
        return _open_timers(state, hold, now, rules)
    if hold.due is None or hold.due > now.mono:
        return state, []
    return fire(state, hold, Trigger.DUE, now, rules)


def _open_timers(state: State, hold: Hold, now: Now, rules: Rules) -> Result:
    """While the door stands open: the alarm once, and a photo every interval."""
    actions: list[Action] = []
    if hold.alarm_at is not None and hold.alarm_at <= now.mono:
        hold = replace(hold, alarm_at=None, alarmed=True)
        actions += tell(hold, EventType.ALARM_DOOR_LEFT_OPEN, EventType.ALARM_DOOR_LEFT_OPEN)
    if hold.photo_at is not None and hold.photo_at <= now.mono:
        hold = replace(hold, photo_at=now.mono + rules.open_photo_interval_s)
        actions += photograph(hold, Purpose.DOOR_OPEN)
    return put_hold(state, hold), actions


def _retry_lock(state: State, now: Now, rules: Rules) -> Result:
    backoff = min(rules.lock_retry_max_s, max(1.0, state.lock_retry_s * 2))
    state = replace(
        state,
        lock_target=LockReading.LOCKED,
        lock_retry_at=now.mono + backoff,
        lock_retry_s=backoff,
        lock_source=state.lock_source or "relock",
    )
    return state, [DriveLock(True)]


def doorbell_request(state: State) -> CaptureRequest:
    """A press during a doorstep delivery also counts as a photo of that delivery."""
    waiting = [d for d in state.deliveries if d.mode == Mode.DOORSTEP and d.phase is Phase.WAITING]
    if waiting:
        return photo_of(waiting[-1], Purpose.DOORBELL)
    return CaptureRequest(Purpose.DOORBELL, None)


def on_photo(state: State, event: PhotoTaken | PhotoFailed, now: Now, rules: Rules) -> Result:
    request = event.request
    actions: list[Action] = []
    photo_id = event.photo_id if isinstance(event, PhotoTaken) else None
    # The photo is queued before the event that announces it: a crash between the two can
    # leave a photo sent but unannounced, never an announced photo that is never sent.
    if isinstance(event, PhotoTaken) and not request.confidential:
        actions.append(SharePhoto(event.photo_id, request.delivery_id, latest=True))
    if isinstance(event, PhotoTaken) and request.delivery_id is not None:
        frame = event.frame
        actions.append(
            Emit(
                EventType.DELIVERY_PHOTO,
                request.delivery_id,
                {
                    "photo_id": event.photo_id,
                    "sha256": event.sha256,
                    "bytes": event.size,
                    "captured_at": event.captured_at,
                    "local_only": request.confidential,
                    "purpose": str(request.purpose),
                    "frame": frame.sequence if frame else None,
                    "sensor_ns": frame.sensor_ns if frame else None,
                },
            )
        )
    if request.purpose is Purpose.DOORBELL:
        actions.append(
            Emit(EventType.DOORBELL_PRESSED, request.delivery_id, {"photo_id": photo_id})
        )

    delivery = find(state, request.delivery_id)
    if delivery is None:
        return state, actions
    if photo_id is not None:
        delivery = replace(delivery, photos=(*delivery.photos, photo_id))
    if isinstance(event, PhotoTaken) and event.parcel_visible is not None:
        delivery = replace(delivery, parcel_visible=event.parcel_visible)
    if request.purpose is Purpose.CONFIRMATION and delivery.phase is Phase.CONFIRMING:
        delivery = replace(delivery, pending_photos=delivery.pending_photos - 1)
        if delivery.pending_photos <= 0 and not delivery.clip_pending:
            state, done = fire(put(state, delivery), delivery, Trigger.CONFIRMED, now, rules)
            return state, actions + done
    return put(state, delivery), actions
