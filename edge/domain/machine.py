"""The delivery state machine: ``step(state, input, now, rules) -> Transition``.

It never performs I/O; the core carries out each Transition (see model.Transition for the
order). The lock moves only through ``Transition.lock``: unlocked for exactly one accepted
in-home `at_door`, once the camera has proved it is watching with a frame captured after that
pass was admitted, and driven locked again on every path out of the in-home sequence
(docs/protocol.md §3).

Inside, each handler returns the new state and the list of what it decided, in the order it
decided it; ``step`` sorts that list into the Transition, the one seam the core sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from edge.domain import policy, rejections, signals
from edge.domain.camera import NS, not_advanced
from edge.domain.model import (
    HOLDING_PHASES,
    OWNER_SESSION,
    Action,
    CameraHealth,
    Capture,
    CaptureRequest,
    CheckCode,
    ClockChecked,
    CodeChecked,
    ConsumeJti,
    Delivery,
    DoorbellPressed,
    DoorMoved,
    DriveLock,
    Emit,
    EventType,
    FrameProof,
    Input,
    LockReading,
    LockSensed,
    Now,
    Outcome,
    Outward,
    PassRejected,
    PassVerified,
    PendingUnlock,
    Phase,
    PhotoFailed,
    PhotoTaken,
    ProveCamera,
    Purpose,
    Record,
    RecordFailed,
    Retain,
    Rules,
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
    CODE_WINDOW_S,
    LOCKOUT_S,
    SNAPSHOT_EVERY_S,
    WRONG_CODES_ALLOWED,
    OwnerInHome,
    OwnerLock,
    OwnerRejected,
    OwnerSnapshot,
    OwnerUnlock,
)
from edge.domain.passes import Courier, Mode, Pass, Reason, Rejection

Result = tuple[State, list[Action]]


def step(state: State, event: Input, now: Now, rules: Rules) -> Transition:
    before = state
    state, actions = _owner_wording(_decide(state, event, now, rules))
    # A step decided again because its record failed is still that step (a Tick still flushes).
    original = event.original if isinstance(event, RecordFailed) else event
    repeat = original.count if isinstance(original, PassRejected) else 1
    windows = state.rejection_windows
    signed = isinstance(original, PassVerified) or (
        isinstance(original, PassRejected) and original.signed)
    if not signed:  # the cloud's own passes are always answered; junk is coalesced
        windows, actions = rejections.coalesce(windows, actions, now.mono, repeat)
    if isinstance(original, Tick):
        windows, summaries = rejections.flush(windows, now.mono)
        actions += summaries
    return transition(before, replace(state, rejection_windows=windows), actions)


def transition(before: State, after: State, actions: list[Action]) -> Transition:
    """Sort what a step decided into the seam: the durable record, the lock, the rest. Every
    change of the lock's reading is told (`lock.changed`), with who moved it: before a
    `delivery.completed` it caused (a delivery's last event is its completion, and its receipt
    lists the relock)."""
    if after.lock != before.lock:
        current = holder(after) or holder(before)
        delivery_id = current.id if current and current.id != OWNER_SESSION else None
        changed = Emit(EventType.LOCK_CHANGED, delivery_id, {
            "from": str(before.lock), "to": str(after.lock),
            "source": after.lock_source or "manual"})
        at = next((n for n, a in enumerate(actions) if isinstance(a, Emit)
                   and a.type is EventType.DELIVERY_COMPLETED), len(actions))
        actions = [*actions[:at], changed, *actions[at:]]
    if after.lock_source is not None and after.lock == after.lock_target:
        after = replace(after, lock_source=None)  # the move is done; the next one is news
    consume = [a for a in actions if isinstance(a, ConsumeJti)]
    locks = [a for a in actions if isinstance(a, DriveLock)]
    assert len(consume) <= 1 and len(locks) <= 1, actions
    record = Record(
        consume=consume[0] if consume else None,
        deliveries=after.deliveries if after.deliveries != before.deliveries else None,
        photos=tuple(a for a in actions if isinstance(a, SharePhoto)),
        events=tuple(a for a in actions if isinstance(a, Emit)),
        retained=tuple(a for a in actions if isinstance(a, Retain)),
        settings=after.settings if after.settings != before.settings else None)
    outward: list[Outward] = [a for a in actions if isinstance(a, (Capture, ProveCamera,
                                                                    CheckCode))]
    outward += [Sound(tune) for tune in signals.tunes(record.events)]
    shown = signals.indicate(after)
    if shown != signals.indicate(before):
        outward.append(shown)
    held = holder(after) is not None
    if held != (holder(before) is not None):  # someone let in, or the door relocked
        outward.append(Watch(held))
    return Transition(after, record, locks[0] if locks else None, tuple(outward))


def _decide(state: State, event: Input, now: Now, rules: Rules) -> Result:
    if isinstance(event, RecordFailed):
        return _unrecorded(state, event, now, rules)
    return _step(state, event, now, rules)


def _unrecorded(state: State, failed: RecordFailed, now: Now, rules: Rules) -> Result:
    """The record of a step could not be written (its events are lost; the log says so). A
    pass that could not be marked as used is not acted on: refused `storage_error`, and the
    door stays as it was. The homeowner's unlock, which uses no pass, is refused the same way:
    the door never opens without its record. A relock stands, used pass or not: it has already
    happened. Any other step stands too, and its record is tried once more."""
    after, actions = _step(state, failed.original, now, rules)
    consume = next((a for a in actions if isinstance(a, ConsumeJti)), None)
    if DriveLock(True) in actions:
        return after, actions
    if consume is None and DriveLock(False) in actions:
        return replace(state, unlock_pending=None), [
            _rejected(Rejection("owner/lock", Reason.STORAGE_ERROR), detail=failed.error)]
    if consume is None:
        return after, actions
    used = failed.original.pass_ if isinstance(failed.original, PassVerified) else (
        state.unlock_pending.pass_ if state.unlock_pending is not None else None)
    cmd, delivery_id = (used.cmd, used.delivery_id) if used is not None else ("at_door", None)
    return replace(state, unlock_pending=None), [
        _rejected(Rejection(cmd, Reason.STORAGE_ERROR, consume.jti), delivery_id,
                  detail=failed.error)]


def _step(state: State, event: Input, now: Now, rules: Rules) -> Result:
    match event:
        case PassRejected(rejection, error=str(error)):  # the database could not be read
            state, said = _on_storage(state, "database", ok=False)
            return state, [_rejected(rejection, detail=error), *said]
        case PassRejected(rejection):
            return state, [_rejected(rejection)]
        case PassVerified(pass_):
            return _on_pass(state, pass_, now, rules)
        case FrameProof():
            return _on_proof(state, event, now, rules)
        case PhotoTaken() | PhotoFailed():
            return _on_photo(state, event)
        case DoorbellPressed():
            return state, [Capture(_doorbell_request(state))]
        case DoorMoved(is_open):
            return _on_door(state, is_open, now, rules)
        case LockSensed(reading):
            return _on_lock(state, reading, now, rules)
        case CameraHealth():
            return _on_camera(state, event)
        case ClockChecked(synced):
            return replace(state, clock_synced=synced), []
        case StorageHealth(area, ok):
            return _on_storage(state, area, ok)
        case UploadRejected(photo_id, delivery_id, status):
            # Kept on the device for the homeowner; the cloud operator hears why.
            return state, [Emit(EventType.PHOTO_UPLOAD_REJECTED, delivery_id,
                                {"photo_id": photo_id, "status": status, "local_only": True})]
        case Tick():
            return _on_tick(state, now, rules)
        case OwnerRejected(rejection):
            return state, [_rejected(rejection)]
        case OwnerLock():
            return _owner_lock(state, now, rules)
        case OwnerInHome(enabled):
            return _owner_in_home(state, enabled)
        case OwnerSnapshot():
            return _owner_snapshot(state, now)
        case OwnerUnlock():
            return _owner_unlock(state, event, now, rules)
        case CodeChecked(check_id, ok):
            return _on_code_checked(state, check_id, ok, now, rules)
    raise TypeError(f"unknown input {event!r}")


def resume(state: State, now: Now, rules: Rules) -> Transition:
    """After a (re)start, with the lock already driven locked: a delivery that held the door
    when the process died ends `interrupted`; lost confirmation photos are taken again."""
    before = state
    crashed_open = holder(state) is not None
    state = replace(state, lock_target=LockReading.LOCKED, lock_source="startup",
                    lock=LockReading.UNLOCKED if crashed_open else state.lock)
    until = state.settings.locked_out_until
    if until is not None and now.wall < until:  # the lockout goes on, on this run's clock too
        state = replace(state, locked_out_mono=now.mono + min(until - now.wall, LOCKOUT_S))
    before = replace(before, lock=state.lock)  # what the lock was left at is no news yet
    actions: list[Action] = []
    for delivery in state.deliveries:
        if delivery.phase in HOLDING_PHASES:
            state, done = _complete(state, delivery, Outcome.INTERRUPTED)
            actions += done
        elif delivery.phase is Phase.CONFIRMING:
            state, more = _confirm(state, delivery, now, rules)
            actions += more
    t = transition(before, state, actions)
    shown = signals.indicate(t.state)  # the LED and buzzer start from what is true now
    return t if shown in t.actions else replace(t, actions=(*t.actions, shown))


def next_wake(state: State, now: Now) -> float | None:
    """Seconds until the next deadline is due (0 when overdue), or None when nothing is."""
    waits = [d.expires_at - now.wall for d in state.deliveries if d.phase is Phase.WAITING]
    for delivery in state.deliveries:
        waits += [t - now.mono for t in (delivery.due, delivery.alarm_at, delivery.photo_at)
                  if t is not None]
    if state.lock_retry_at is not None:
        waits.append(state.lock_retry_at - now.mono)
    if state.unlock_pending is not None:
        waits.append(state.unlock_pending.deadline - now.mono)
    summary_due = rejections.next_flush(state.rejection_windows)
    if summary_due is not None:
        waits.append(summary_due - now.mono)
    return max(0.0, min(waits)) if waits else None


def in_home_enabled(state: State, rules: Rules) -> bool:
    """The homeowner's switch (docs/protocol.md §8), else the config's default."""
    return rules.in_home_enabled if state.settings.in_home is None else state.settings.in_home


def holder(state: State) -> Delivery | None:
    """The in-home delivery that holds the door, from unlock until the lock is verified."""
    return next((d for d in state.deliveries if d.phase in HOLDING_PHASES), None)


def current_delivery(state: State) -> Delivery | None:
    """The delivery the `state` topic shows: the door's holder, else the latest accepted (the
    owner's own unlock is no delivery)."""
    deliveries = [d for d in state.deliveries if d.id != OWNER_SESSION]
    current = holder(state)
    if current is not None and current.id != OWNER_SESSION:
        return current
    return deliveries[-1] if deliveries else None


def public_state(state: State, rules: Rules) -> dict[str, Any]:
    """The `state` topic body (docs/protocol.md §4) without `version` and `ts` (the core adds
    them)."""
    current = current_delivery(state)
    return {
        "lock": state.lock,
        "door": "open" if state.door_open else "closed",
        "camera": "ok" if state.camera_ok else "fault",
        "clock": "synced" if state.clock_synced else "unsynced",
        "storage": "fault" if "database" in state.storage_full else (
            "full" if state.storage_full else "ok"),
        "in_home_enabled": in_home_enabled(state, rules),
        "indicator": str(signals.led(state)),
        "delivery": None if current is None
        else {"id": current.id, "mode": current.mode, "phase": str(current.phase)},
    }


# --- passes -------------------------------------------------------------------------------


def _rejected(rejection: Rejection, delivery_id: str | None = None, **extra: Any) -> Emit:
    return Emit(EventType.COMMAND_REJECTED, delivery_id,
                {"cmd": rejection.cmd, "reason": rejection.reason, "jti": rejection.jti, **extra})


def _find(state: State, delivery_id: str | None) -> Delivery | None:
    return next((d for d in state.deliveries if d.id == delivery_id), None)


def _on_pass(state: State, p: Pass, now: Now, rules: Rules) -> Result:
    def reject(reason: Reason) -> Result:
        return state, [_rejected(Rejection(p.cmd, reason, p.jti), p.delivery_id)]

    delivery = _find(state, p.delivery_id)
    if p.cmd == "arriving":
        if p.mode == Mode.IN_HOME and not in_home_enabled(state, rules):
            return reject(Reason.MODE_NOT_ALLOWED)
        refusal = policy.grant_refusal(rules.policy, p)
        if refusal is not None:
            return reject(refusal)
        if delivery is not None:
            return reject(Reason.DUPLICATE_DELIVERY)
        if len(state.deliveries) >= rules.max_active_deliveries:  # a flood of valid grants
            return reject(Reason.TOO_MANY_DELIVERIES)
        return _arrive(state, p, rules)
    if delivery is None:
        return reject(Reason.UNKNOWN_DELIVERY)
    consume = ConsumeJti(p.jti, p.exp)
    if p.cmd == "at_door":
        if delivery.mode == Mode.DOORSTEP:
            return state, [consume, Capture(_request(delivery, Purpose.AT_DOOR))]
        reason = _unlock_refusal(state, delivery, p, now, rules)
        if reason is not None:
            return reject(reason)
        return _ask_proof(state, p, now, rules)
    if p.cmd == "done":
        return _on_done(state, delivery, now, rules, consume, reject)
    if p.cmd == "cancel":
        return _on_cancel(state, delivery, now, rules, consume)
    raise ValueError(f"unknown command {p.cmd!r}")


def _unlock_refusal(state: State, delivery: Delivery, p: Pass, now: Now,
                    rules: Rules) -> Reason | None:
    """Why the door must not open for this in-home delivery now, in docs/protocol.md §2 and §11
    order. An unlock waiting for its camera proof already claims the door.

    The camera gate is a fresh-frame proof, asked for once every other gate passes. While the
    camera is believed faulty, the gates after it wait for that proof, so a refusal still names
    the first gate that fails, and a camera that has recovered is not blamed."""
    if not in_home_enabled(state, rules):
        return Reason.MODE_NOT_ALLOWED  # the homeowner opted out after the grant was accepted
    ruled_out = policy.unlock_refusal(rules.policy, delivery.courier.id, p.signer, now.wall)
    if ruled_out is not None:
        return ruled_out
    current = holder(state)
    pending = state.unlock_pending
    claimed = current.id if current is not None else (
        pending.delivery_id if pending is not None else None)
    if claimed is not None and claimed != delivery.id:
        return Reason.BUSY
    if not state.camera_ok:
        return None  # its proof decides next: camera_unavailable, or the gates below
    if delivery.phase is not Phase.WAITING or pending is not None:
        return Reason.WRONG_STATE
    if state.lock == LockReading.JAMMED:
        return Reason.LOCK_FAULT  # a lock that failed to relock is not opened again
    if state.door_open:  # nothing to unlock for; the relock and its proof would be no proof
        return Reason.DOOR_OPEN
    return None


def _arrive(state: State, p: Pass, rules: Rules) -> Result:
    assert p.mode is not None and p.courier is not None  # guaranteed by check_claims
    delivery = Delivery(id=p.delivery_id, mode=p.mode, courier=p.courier,
                        confidential=p.confidential, expires_at=p.exp)
    state = replace(state, deliveries=(*state.deliveries, delivery))
    fields = {"mode": p.mode, "courier": p.courier.as_dict(), "confidential": p.confidential}
    actions: list[Action] = [ConsumeJti(p.jti, p.exp),
                             Emit(EventType.DELIVERY_ARRIVING, p.delivery_id, fields)]
    if rules.drop_zone:  # the mat before the courier: what the confirmation photo is held to
        actions.append(Capture(_request(delivery, Purpose.REFERENCE)))
    return state, actions


# --- the camera proves it is watching before the door opens --------------------------------


def _ask_proof(state: State, p: Pass, now: Now, rules: Rules) -> Result:
    """Every gate allows the unlock; the camera must now show a frame captured after this
    moment. A cached health flag is no proof: a camera that froze a second ago still says ok."""
    proof_id = state.proofs_asked + 1
    pending = PendingUnlock(proof_id, p, admitted_at=now.mono,
                            deadline=now.mono + rules.camera_proof_s)
    state = replace(state, unlock_pending=pending, proofs_asked=proof_id)
    return state, [ProveCamera(proof_id, not_before=now.mono)]


def _on_proof(state: State, proof: FrameProof, now: Now, rules: Rules) -> Result:
    pending = state.unlock_pending
    if pending is None or proof.proof_id != pending.proof_id:
        return state, []  # an answer nobody waits for any more (it came too late)
    state = replace(state, unlock_pending=None)
    unproven = _unproven(proof, pending, now, rules)
    if unproven is not None:
        return _unwatched(state, pending, unproven)
    # A fresh frame is better news than the last probe.
    state, _ = _on_camera(state, CameraHealth(True))
    p = pending.pass_
    if p is None:
        return _owner_unlocked(state, now, rules)
    delivery = _find(state, p.delivery_id)
    # The world may have changed while the camera answered: every gate is asked again.
    reason = Reason.WRONG_STATE if delivery is None else _unlock_refusal(
        state, delivery, p, now, rules)
    if reason is not None or delivery is None:
        return state, [_rejected(Rejection(p.cmd, reason or Reason.WRONG_STATE, p.jti),
                                 p.delivery_id)]
    return _unlock(state, delivery, now, rules, ConsumeJti(p.jti, p.exp))


def _unproven(proof: FrameProof, pending: PendingUnlock, now: Now, rules: Rules) -> str | None:
    """Why this proof does not show a live camera, or None when it does."""
    if now.mono > pending.deadline:
        return f"no fresh frame within {rules.camera_proof_s:g} s"
    if proof.frame is None:
        return proof.error or "the camera gave no frame"
    stuck = not_advanced(proof.previous, proof.frame)
    if stuck is not None:
        return stuck
    if proof.frame.sensor_ns < int(pending.admitted_at * NS):
        return "the frame is older than the pass"
    return None


def _unwatched(state: State, pending: PendingUnlock, why: str) -> Result:
    """No proof: the door stays locked, the courier hears camera_unavailable, and the camera
    counts as faulty until a probe sees frames flowing again."""
    rejection = _rejected(Rejection(pending.cmd, Reason.CAMERA_UNAVAILABLE, pending.jti),
                          None if pending.pass_ is None else pending.delivery_id, detail=why)
    state, alarm = _on_camera(state, CameraHealth(False, why))
    return state, [rejection, *alarm]


def _unlock(state: State, delivery: Delivery, now: Now, rules: Rules,
            consume: ConsumeJti) -> Result:
    unlocked = replace(delivery, phase=Phase.UNLOCKED, due=now.mono + rules.unlock_timeout_s)
    state = replace(_put(state, unlocked), lock_target=LockReading.UNLOCKED, lock_source="pass")
    return state, [consume, DriveLock(False), Emit(EventType.DELIVERY_UNLOCKED, delivery.id)]


def _on_done(state: State, delivery: Delivery, now: Now, rules: Rules, consume: ConsumeJti,
             reject: Callable[[Reason], Result]) -> Result:
    if delivery.phase is Phase.WAITING:
        state, actions = _confirm(state, delivery, now, rules)
    elif delivery.phase in (Phase.UNLOCKED, Phase.CLOSED):
        state, actions = _relock(state, delivery, Outcome.DELIVERED, now, rules)
    elif delivery.phase is Phase.OPEN and not delivery.done_requested:
        state, actions = _put(state, replace(delivery, done_requested=True)), []
    else:
        return reject(Reason.WRONG_STATE)
    return state, [consume, *actions]


def _on_cancel(state: State, delivery: Delivery, now: Now, rules: Rules,
               consume: ConsumeJti) -> Result:
    if delivery.phase in (Phase.UNLOCKED, Phase.OPEN, Phase.CLOSED):
        state, actions = _relock(state, delivery, Outcome.CANCELLED, now, rules)
    elif delivery.phase is Phase.RELOCKING:
        state, actions = _put(state, replace(delivery, outcome=Outcome.CANCELLED)), []
    else:
        state, actions = _complete(state, delivery, Outcome.CANCELLED)
    return state, [consume, *actions]


# --- the in-home sequence -----------------------------------------------------------------


def _relock(state: State, delivery: Delivery, outcome: Outcome, now: Now, rules: Rules) -> Result:
    relocking = replace(delivery, phase=Phase.RELOCKING, outcome=outcome,
                        due=now.mono + rules.lock_verify_s, alarm_at=None, photo_at=None)
    return replace(_put(state, relocking), lock_target=LockReading.LOCKED,
                   lock_source="relock"), [DriveLock(True)]


def _on_door(state: State, is_open: bool, now: Now, rules: Rules) -> Result:
    was_open, state = state.door_open, replace(state, door_open=is_open)
    delivery = holder(state)
    if delivery is None:
        return state, _unheld_door(state, is_open, was_open, rules)
    if is_open and delivery.phase in (Phase.UNLOCKED, Phase.CLOSED, Phase.RELOCKING):
        # Opened after a relock began too (the same instant as the unlock timeout, or a latch
        # that did not catch): the lock stays driven locked; the courier is inside all the same.
        outcome = None if delivery.outcome is Outcome.NOT_ENTERED else delivery.outcome
        opened = replace(delivery, phase=Phase.OPEN, due=None, outcome=outcome,
                         photo_at=now.mono + rules.open_photo_interval_s,
                         alarm_at=None if delivery.alarmed
                         else now.mono + rules.door_open_alarm_s)
        return _put(state, opened), [Emit(EventType.DELIVERY_DOOR_OPENED, delivery.id),
                                     Capture(_request(delivery, Purpose.DOOR_OPEN))]
    if not is_open and delivery.phase is Phase.OPEN:
        closed = replace(delivery, phase=Phase.CLOSED, photo_at=None, alarm_at=None,
                         due=now.mono + rules.relock_delay_s)
        actions: list[Action] = [Emit(EventType.DELIVERY_DOOR_CLOSED, delivery.id)]
        if delivery.done_requested or delivery.outcome is Outcome.CANCELLED or \
                rules.relock_delay_s <= 0:
            state, relock = _relock(state, closed, delivery.outcome or Outcome.DELIVERED, now,
                                    rules)
            return state, actions + relock
        return _put(state, closed), actions
    return state, []


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


def _on_lock(state: State, reading: LockReading, now: Now, rules: Rules) -> Result:
    if state.lock == LockReading.JAMMED and reading != LockReading.LOCKED:
        return state, []  # still jammed: the retry timer keeps re-driving it
    state = replace(state, lock=reading, lock_retry_at=None, lock_retry_s=0.0)
    delivery = holder(state)
    if reading != LockReading.LOCKED or delivery is None or delivery.phase is not Phase.RELOCKING:
        return state, []
    actions: list[Action] = [Emit(EventType.DELIVERY_LOCKED, delivery.id)]
    if delivery.outcome is Outcome.DELIVERED and delivery.id != OWNER_SESSION:
        state, more = _confirm(state, delivery, now, rules)
    else:
        state, more = _complete(state, delivery, delivery.outcome or Outcome.DELIVERED)
    return state, actions + more


def _lock_failed(state: State, delivery: Delivery, now: Now, rules: Rules) -> Result:
    """The lock did not verify in time: jammed, alarm, outcome aborted, keep re-driving it."""
    retry = min(1.0, rules.lock_retry_max_s)
    state = replace(state, lock=LockReading.JAMMED, lock_retry_at=now.mono + retry,
                    lock_retry_s=retry)
    state, done = _complete(state, delivery, Outcome.ABORTED)
    return state, [Emit(EventType.ALARM_LOCK_FAULT, delivery.id), *done]


def _retry_lock(state: State, now: Now, rules: Rules) -> Result:
    backoff = min(rules.lock_retry_max_s, max(1.0, state.lock_retry_s * 2))
    state = replace(state, lock_target=LockReading.LOCKED, lock_retry_at=now.mono + backoff,
                    lock_retry_s=backoff, lock_source=state.lock_source or "relock")
    return state, [DriveLock(True)]


def _confirm(state: State, delivery: Delivery, now: Now, rules: Rules) -> Result:
    count = max(1, rules.confirmation_photos)
    confirming = replace(delivery, phase=Phase.CONFIRMING, pending_photos=count,
                         due=now.mono + rules.photo_timeout_s, outcome=Outcome.DELIVERED)
    request = _request(delivery, Purpose.CONFIRMATION)
    return _put(state, confirming), [Capture(request) for _ in range(count)]


def _complete(state: State, delivery: Delivery, outcome: Outcome) -> Result:
    """The delivery is over: told, and kept as the retained `last_delivery` for dashboards."""
    remaining = tuple(d for d in state.deliveries if d.id != delivery.id)
    fields: dict[str, Any] = {"outcome": str(outcome), "mode": str(delivery.mode),
                              "photos": list(delivery.photos)}
    if delivery.parcel_visible is not None:
        fields["parcel_visible"] = delivery.parcel_visible
    return replace(state, deliveries=remaining), [
        Emit(EventType.DELIVERY_COMPLETED, delivery.id, fields),
        Retain("last_delivery", {"delivery_id": delivery.id, **fields})]


def _put(state: State, delivery: Delivery) -> State:
    return replace(state, deliveries=tuple(
        delivery if d.id == delivery.id else d for d in state.deliveries))


# --- photos -------------------------------------------------------------------------------


def _request(delivery: Delivery, purpose: Purpose) -> CaptureRequest:
    return CaptureRequest(purpose, delivery.id, delivery.confidential)


def _doorbell_request(state: State) -> CaptureRequest:
    """A press during a doorstep delivery also counts as a photo of that delivery."""
    waiting = [d for d in state.deliveries if d.mode == Mode.DOORSTEP and d.phase is Phase.WAITING]
    if waiting:
        return _request(waiting[-1], Purpose.DOORBELL)
    return CaptureRequest(Purpose.DOORBELL, None)


def _on_photo(state: State, event: PhotoTaken | PhotoFailed) -> Result:
    request = event.request
    actions: list[Action] = []
    photo_id = event.photo_id if isinstance(event, PhotoTaken) else None
    # The photo is queued before the event that announces it: a crash between the two can
    # leave a photo sent but unannounced, never an announced photo that is never sent.
    if isinstance(event, PhotoTaken) and not request.confidential:
        actions.append(SharePhoto(event.photo_id, request.delivery_id, latest=True))
    if isinstance(event, PhotoTaken) and request.delivery_id is not None:
        frame = event.frame
        actions.append(Emit(EventType.DELIVERY_PHOTO, request.delivery_id, {
            "photo_id": event.photo_id, "sha256": event.sha256, "bytes": event.size,
            "captured_at": event.captured_at, "local_only": request.confidential,
            "purpose": str(request.purpose),
            "frame": frame.sequence if frame else None,
            "sensor_ns": frame.sensor_ns if frame else None,
        }))
    if request.purpose is Purpose.DOORBELL:
        actions.append(Emit(EventType.DOORBELL_PRESSED, request.delivery_id,
                            {"photo_id": photo_id}))

    delivery = _find(state, request.delivery_id)
    if delivery is None:
        return state, actions
    if photo_id is not None:
        delivery = replace(delivery, photos=(*delivery.photos, photo_id))
    if isinstance(event, PhotoTaken) and event.parcel_visible is not None:
        delivery = replace(delivery, parcel_visible=event.parcel_visible)
    if request.purpose is Purpose.CONFIRMATION and delivery.phase is Phase.CONFIRMING:
        delivery = replace(delivery, pending_photos=delivery.pending_photos - 1)
        if delivery.pending_photos <= 0:
            state, done = _complete(_put(state, delivery), delivery, Outcome.DELIVERED)
            return state, actions + done
    return _put(state, delivery), actions


# --- the homeowner (docs/protocol.md §8) ------------------------------------------------------


def _owner_lock(state: State, now: Now, rules: Rules) -> Result:
    """Relock now, always: a delivery holding the door completes `cancelled`, an unlock still
    waiting for its camera proof is refused, a door nobody holds is driven locked."""
    actions: list[Action] = []
    pending = state.unlock_pending
    if pending is not None:
        state = replace(state, unlock_pending=None)
        actions.append(_rejected(Rejection(pending.cmd, Reason.WRONG_STATE, pending.jti),
                                 None if pending.pass_ is None else pending.delivery_id))
    delivery = holder(state)
    if delivery is not None and delivery.phase is not Phase.RELOCKING:
        state, relock = _relock(state, delivery, Outcome.CANCELLED, now, rules)
    else:
        if delivery is not None:
            state = _put(state, replace(delivery, outcome=Outcome.CANCELLED))
        state, relock = replace(state, lock_target=LockReading.LOCKED), [DriveLock(True)]
    return replace(state, lock_source="owner"), actions + relock


def _owner_in_home(state: State, enabled: bool) -> Result:
    """From now on; kept across restarts. A door already unlocked finishes its sequence."""
    state = replace(state, settings=replace(state.settings, in_home=enabled))
    return state, [Emit(EventType.OWNER_IN_HOME, None, {"enabled": enabled})]


def _owner_snapshot(state: State, now: Now) -> Result:
    if state.snapshot_at is not None and now.mono - state.snapshot_at < SNAPSHOT_EVERY_S:
        return state, [_rejected(Rejection("owner/snapshot", Reason.RATE_LIMITED))]
    return replace(state, snapshot_at=now.mono), [
        Capture(CaptureRequest(Purpose.OWNER, None))]


def _owner_unlock(state: State, request: OwnerUnlock, now: Now, rules: Rules) -> Result:
    """Refusals in the order of docs/protocol.md §8: disabled, locked out, then (once the code
    is checked, off this thread) a bad code, busy, the camera, a jammed lock."""
    def reject(reason: Reason) -> Result:
        return state, [_rejected(Rejection("owner/lock", reason))]

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
        CheckCode(check_id, request.code)]


def _on_code_checked(state: State, check_id: int, ok: bool, now: Now, rules: Rules) -> Result:
    if check_id != state.code_check:
        return state, []
    state = replace(state, code_check=None)
    if not ok:
        return _wrong_code(state, now)
    state = replace(state, settings=replace(state.settings, wrong_codes=()))
    if holder(state) is not None or state.unlock_pending is not None:
        return state, [_rejected(Rejection("owner/lock", Reason.BUSY))]
    proof_id = state.proofs_asked + 1
    pending = PendingUnlock(proof_id, None, admitted_at=now.mono,
                            deadline=now.mono + rules.camera_proof_s)
    return replace(state, unlock_pending=pending, proofs_asked=proof_id), [
        ProveCamera(proof_id, not_before=now.mono)]


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
    return replace(state, settings=settings), [_rejected(Rejection("owner/lock", Reason.BAD_CODE))]


def _owner_unlocked(state: State, now: Now, rules: Rules) -> Result:
    """The camera is watching: the owner's session holds the door, with the relock rules of an
    in-home delivery (unlock timeout, relock after the door closes, verification)."""
    current = holder(state)
    if current is not None:  # a delivery took the door while the camera answered
        return state, [_rejected(Rejection("owner/lock", Reason.BUSY))]
    if state.lock == LockReading.JAMMED:
        return state, [_rejected(Rejection("owner/lock", Reason.LOCK_FAULT))]
    session = Delivery(OWNER_SESSION, Mode.IN_HOME, Courier("owner", "owner"), confidential=True,
                       expires_at=now.wall + rules.unlock_timeout_s, phase=Phase.UNLOCKED,
                       due=now.mono + rules.unlock_timeout_s)
    state = replace(state, deliveries=(*state.deliveries, session),
                    lock_target=LockReading.UNLOCKED, lock_source="owner")
    return state, [DriveLock(False), Emit(EventType.DELIVERY_UNLOCKED, OWNER_SESSION)]


def _owner_wording(result: Result) -> Result:
    """The owner's session goes through the in-home sequence, but it is no delivery: it says
    `owner.unlocked` and `owner.relocked` (alarms stay alarms), and takes no photos."""
    state, actions = result
    said: list[Action] = []
    for action in actions:
        if isinstance(action, Emit) and action.delivery_id == OWNER_SESSION:
            renamed = {EventType.DELIVERY_UNLOCKED: EventType.OWNER_UNLOCKED,
                       EventType.DELIVERY_LOCKED: EventType.OWNER_RELOCKED,
                       EventType.ALARM_LOCK_FAULT: EventType.ALARM_LOCK_FAULT,
                       EventType.ALARM_DOOR_LEFT_OPEN: EventType.ALARM_DOOR_LEFT_OPEN,
                       EventType.ALARM_CAMERA_FAULT: EventType.ALARM_CAMERA_FAULT}
            if action.type in renamed:
                said.append(Emit(renamed[action.type], None, action.fields))
        elif isinstance(action, (Capture, Retain)) and _for_owner(action):
            continue
        else:
            said.append(action)
    return state, said


def _for_owner(action: Capture | Retain) -> bool:
    if isinstance(action, Capture):
        return action.request.delivery_id == OWNER_SESSION
    return action.fields.get("delivery_id") == OWNER_SESSION


# --- the world and time -------------------------------------------------------------------


def _on_camera(state: State, health: CameraHealth) -> Result:
    if health.ok == state.camera_ok:
        return state, []
    state = replace(state, camera_ok=health.ok)
    if health.ok:
        return state, []
    current = current_delivery(state)
    said = {name: value for name, value in (("detail", health.detail),
                                            ("frame_age_s", health.frame_age_s))
            if value is not None}
    return state, [Emit(EventType.ALARM_CAMERA_FAULT, current.id if current else None, said)]


def _on_storage(state: State, area: str, ok: bool) -> Result:
    full = state.storage_full - {area} if ok else state.storage_full | {area}
    if full == state.storage_full:
        return state, []
    state = replace(state, storage_full=full)
    if ok:
        return state, []
    current = current_delivery(state)
    if area == "database":
        return state, [Emit(EventType.ALARM_STORAGE_FAULT, current.id if current else None)]
    return state, [Emit(EventType.ALARM_STORAGE_FULL, current.id if current else None,
                        {"area": area})]


def _on_tick(state: State, now: Now, rules: Rules) -> Result:
    actions: list[Action] = []
    for delivery in state.deliveries:
        state, more = _delivery_timers(state, delivery, now, rules)
        actions += more
    if state.lock_retry_at is not None and state.lock_retry_at <= now.mono:
        state, more = _retry_lock(state, now, rules)
        actions += more
    pending = state.unlock_pending
    if pending is not None and pending.deadline <= now.mono:
        state, more = _unwatched(replace(state, unlock_pending=None), pending,
                                 f"no fresh frame within {rules.camera_proof_s:g} s")
        actions += more
    return state, actions


def _delivery_timers(state: State, delivery: Delivery, now: Now, rules: Rules) -> Result:
    phase = delivery.phase
    if phase is Phase.WAITING:
        if delivery.expires_at <= now.wall:
            return _complete(state, delivery, Outcome.EXPIRED)
        return state, []
    if phase is Phase.OPEN:
        return _open_timers(state, delivery, now, rules)
    if delivery.due is None or delivery.due > now.mono:
        return state, []
    if phase is Phase.UNLOCKED:
        return _relock(state, delivery, Outcome.NOT_ENTERED, now, rules)
    if phase is Phase.CLOSED:
        return _relock(state, delivery, delivery.outcome or Outcome.DELIVERED, now, rules)
    if phase is Phase.RELOCKING:
        return _lock_failed(state, delivery, now, rules)
    # CONFIRMING: the camera never answered. The courier is done all the same, and a camera
    # that gives no frame is a fault (the worker reports it healthy again once it recovers).
    state, alarm = _on_camera(state, CameraHealth(False, "no confirmation photo came back"))
    state, done = _complete(state, delivery, Outcome.DELIVERED)
    return state, alarm + done


def _open_timers(state: State, delivery: Delivery, now: Now, rules: Rules) -> Result:
    actions: list[Action] = []
    if delivery.alarm_at is not None and delivery.alarm_at <= now.mono:
        delivery = replace(delivery, alarm_at=None, alarmed=True)
        actions.append(Emit(EventType.ALARM_DOOR_LEFT_OPEN, delivery.id))
    if delivery.photo_at is not None and delivery.photo_at <= now.mono:
        delivery = replace(delivery, photo_at=now.mono + rules.open_photo_interval_s)
        actions.append(Capture(_request(delivery, Purpose.DOOR_OPEN)))
    return _put(state, delivery), actions
