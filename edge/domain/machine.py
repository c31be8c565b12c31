"""The delivery state machine: ``step(state, input, now, rules) -> (state, actions)``.

``now`` is wall-clock seconds (passes and grants are defined on the wall clock). The machine
never performs I/O; the core loop executes the returned actions in order.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from edge.domain.model import (
    Action, CameraHealth, Capture, CaptureRequest, ConsumeJti, Delivery, DoorbellPressed, DoorMoved,
    Emit, Input, LockSensed, Outcome, PassRejected, PassVerified, Phase, PhotoFailed, PhotoTaken,
    Purpose, Rules, SharePhoto, State, Tick,
)
from edge.domain.passes import Pass, Rejection

Result = tuple[State, list[Action]]


def step(state: State, event: Input, now: float, rules: Rules) -> Result:
    match event:
        case PassRejected(rejection):
            return state, [_rejected(rejection)]
        case PassVerified(pass_):
            return _on_pass(state, pass_, now, rules)
        case PhotoTaken() | PhotoFailed():
            return _on_photo(state, event)
        case DoorbellPressed():
            return state, [Capture(_doorbell_request(state))]
        case DoorMoved(is_open):
            return replace(state, door_open=is_open), []
        case LockSensed(reading):
            return _on_lock(state, reading)
        case CameraHealth(ok):
            return _on_camera(state, ok)
        case Tick():
            return _on_tick(state, now)
    raise TypeError(f"unknown input {event!r}")


def resume(state: State, now: float, rules: Rules) -> Result:
    """After a restart: retake the confirmation photos a crash may have lost."""
    actions: list[Action] = []
    for delivery in state.deliveries:
        if delivery.phase is Phase.CONFIRMING:
            request = _request(delivery, Purpose.CONFIRMATION)
            actions += [Capture(request) for _ in range(max(1, delivery.pending_photos))]
            state = _put(state, replace(delivery, confirm_by=now + rules.photo_timeout_s))
    return state, actions


def _deadline(delivery: Delivery) -> float | None:
    if delivery.phase is Phase.WAITING:
        return delivery.expires_at
    return delivery.confirm_by


def next_deadline(state: State) -> float | None:
    """The wall-clock time of the next thing due, or None; the core sends a Tick then."""
    due = [t for t in map(_deadline, state.deliveries) if t is not None]
    return min(due, default=None)


def current_delivery(state: State) -> Delivery | None:
    """The delivery the `state` topic shows: the most recently accepted active one."""
    return state.deliveries[-1] if state.deliveries else None


def public_state(state: State, rules: Rules) -> dict[str, Any]:
    """The `state` topic body (PROTOCOL §4) without `version` and `ts`, which the core adds."""
    current = current_delivery(state)
    return {
        "lock": state.lock,
        "door": "open" if state.door_open else "closed",
        "camera": "ok" if state.camera_ok else "fault",
        "in_home_enabled": rules.in_home_enabled,
        "delivery": None if current is None
        else {"id": current.id, "mode": current.mode, "phase": str(current.phase)},
    }


# --- passes -------------------------------------------------------------------------------


def _rejected(rejection: Rejection) -> Emit:
    return Emit("command.rejected", None,
                {"cmd": rejection.cmd, "reason": rejection.reason, "jti": rejection.jti})


def _find(state: State, delivery_id: str) -> Delivery | None:
    return next((d for d in state.deliveries if d.id == delivery_id), None)


def _on_pass(state: State, p: Pass, now: float, rules: Rules) -> Result:
    def reject(reason: str) -> Result:
        emit = _rejected(Rejection(p.cmd, reason, p.jti))
        return state, [replace(emit, delivery_id=p.delivery_id)]

    delivery = _find(state, p.delivery_id)
    if p.cmd == "arriving":
        if p.mode == "in_home" and not rules.in_home_enabled:
            return reject("mode_not_allowed")
        if delivery is not None:
            return reject("duplicate_delivery")
        return _arrive(state, p)
    if delivery is None:
        return reject("unknown_delivery")
    consume = ConsumeJti(p.jti, p.exp)
    if p.cmd == "at_door":
        if delivery.mode != "doorstep":
            # The in-home sequence is not built yet: never unlock for it.
            return reject("mode_not_allowed")
        return state, [consume, Capture(_request(delivery, Purpose.AT_DOOR))]
    if p.cmd == "done":
        if delivery.phase is not Phase.WAITING:
            return reject("wrong_state")
        return _confirm(state, delivery, now, rules, consume)
    if p.cmd == "cancel":
        state, actions = _complete(state, delivery, Outcome.CANCELLED)
        return state, [consume, *actions]
    raise ValueError(f"unknown command {p.cmd!r}")


def _arrive(state: State, p: Pass) -> Result:
    assert p.mode is not None and p.courier is not None  # guaranteed by check_claims
    delivery = Delivery(id=p.delivery_id, mode=p.mode, courier=p.courier,
                        confidential=p.confidential, expires_at=p.exp)
    state = replace(state, deliveries=(*state.deliveries, delivery))
    fields = {"mode": p.mode, "courier": p.courier.as_dict(), "confidential": p.confidential}
    return state, [ConsumeJti(p.jti, p.exp), Emit("delivery.arriving", p.delivery_id, fields)]


def _confirm(state: State, delivery: Delivery, now: float, rules: Rules,
             consume: ConsumeJti) -> Result:
    count = max(1, rules.confirmation_photos)
    confirming = replace(delivery, phase=Phase.CONFIRMING, pending_photos=count,
                         confirm_by=now + rules.photo_timeout_s)
    request = _request(delivery, Purpose.CONFIRMATION)
    return _put(state, confirming), [consume, *(Capture(request) for _ in range(count))]


def _complete(state: State, delivery: Delivery, outcome: Outcome) -> Result:
    remaining = tuple(d for d in state.deliveries if d.id != delivery.id)
    fields = {"outcome": str(outcome), "mode": delivery.mode, "photos": list(delivery.photos)}
    return replace(state, deliveries=remaining), [Emit("delivery.completed", delivery.id, fields)]


def _put(state: State, delivery: Delivery) -> State:
    return replace(state, deliveries=tuple(
        delivery if d.id == delivery.id else d for d in state.deliveries))


# --- photos -------------------------------------------------------------------------------


def _request(delivery: Delivery, purpose: Purpose) -> CaptureRequest:
    return CaptureRequest(purpose, delivery.id, delivery.confidential)


def _doorbell_request(state: State) -> CaptureRequest:
    """A press during a doorstep delivery also counts as a photo of that delivery."""
    waiting = [d for d in state.deliveries if d.mode == "doorstep" and d.phase is Phase.WAITING]
    if waiting:
        return _request(waiting[-1], Purpose.DOORBELL)
    return CaptureRequest(Purpose.DOORBELL, None)


def _on_photo(state: State, event: PhotoTaken | PhotoFailed) -> Result:
    request = event.request
    actions: list[Action] = []
    photo_id = event.photo_id if isinstance(event, PhotoTaken) else None
    if isinstance(event, PhotoTaken) and request.delivery_id is not None:
        actions.append(Emit("delivery.photo", request.delivery_id, {
            "photo_id": event.photo_id, "sha256": event.sha256, "bytes": event.size,
            "captured_at": event.captured_at, "local_only": request.confidential,
            "purpose": str(request.purpose),
        }))
    if isinstance(event, PhotoTaken) and not request.confidential:
        actions.append(SharePhoto(event.photo_id, request.delivery_id))
    if request.purpose is Purpose.DOORBELL:
        actions.append(Emit("doorbell.pressed", request.delivery_id, {"photo_id": photo_id}))

    delivery = _find(state, request.delivery_id) if request.delivery_id else None
    if delivery is None:
        return state, actions
    if photo_id is not None:
        delivery = replace(delivery, photos=(*delivery.photos, photo_id))
    if request.purpose is Purpose.CONFIRMATION and delivery.phase is Phase.CONFIRMING:
        delivery = replace(delivery, pending_photos=delivery.pending_photos - 1)
        if delivery.pending_photos <= 0:
            state, done = _complete(_put(state, delivery), delivery, Outcome.DELIVERED)
            return state, actions + done
    return _put(state, delivery), actions


# --- world and time -----------------------------------------------------------------------


def _on_camera(state: State, ok: bool) -> Result:
    if ok == state.camera_ok:
        return state, []
    state = replace(state, camera_ok=ok)
    if ok:
        return state, []
    current = current_delivery(state)
    return state, [Emit("alarm.camera_fault", current.id if current else None)]


def _on_lock(state: State, reading: str) -> Result:
    # The machine never commands an unlock yet (the in-home sequence comes later), so a bolt
    # that does not read locked is a fault the homeowner must hear about.
    lock = "locked" if reading == "locked" else "jammed"
    if lock == state.lock:
        return state, []
    state = replace(state, lock=lock)
    if lock == "locked":
        return state, []
    current = current_delivery(state)
    return state, [Emit("alarm.lock_fault", current.id if current else None)]


def _on_tick(state: State, now: float) -> Result:
    actions: list[Action] = []
    for delivery in state.deliveries:
        due = _deadline(delivery)
        if due is None or due > now:
            continue
        if delivery.phase is Phase.WAITING:
            state, done = _complete(state, delivery, Outcome.EXPIRED)
        else:
            # The camera never answered: the courier is done all the same, and a camera that
            # gives no frame is a fault (the worker reports it healthy again once it recovers).
            state, done = _on_camera(state, False)
            state, completed = _complete(state, delivery, Outcome.DELIVERED)
            done += completed
        actions += done
    return state, actions
