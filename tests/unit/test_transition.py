"""The seam between decisions and effects: what a step must make durable, the lock command,
the outward actions; and what the machine decides when the durable record cannot be written."""

from __future__ import annotations

from edge.domain.machine import step
from edge.domain.model import (
    Capture,
    CaptureRequest,
    CodeChecked,
    ConsumeJti,
    DoorMoved,
    DriveLock,
    EventType,
    LockReading,
    LockSensed,
    Phase,
    PhotoTaken,
    ProveCamera,
    Purpose,
    RecordFailed,
    Rules,
    SharePhoto,
    Sound,
    State,
    Tune,
    Watch,
)
from edge.domain.owner import OwnerUnlock
from edge.domain.passes import Reason
from tests.unit.helpers import at, command, grant, proof, run

RULES = Rules(in_home_enabled=True)


def waiting_in_home() -> State:
    return run(State(), grant(mode="in_home"), rules=RULES)[0]


def asked() -> State:
    return run(waiting_in_home(), command("at_door"), rules=RULES)[0]


def test_an_unlock_step_records_the_pass_and_its_event_then_unlocks() -> None:
    t = step(asked(), proof(), at(0.1), RULES)
    assert t.record.consume == ConsumeJti("at_door-1", at(60).wall)
    assert [e.type for e in t.record.events] == [EventType.DELIVERY_UNLOCKED]
    assert t.record.deliveries == t.state.deliveries and t.lock == DriveLock(False)
    assert t.actions == (Sound(Tune.UNLOCKED), Watch(True))  # two short beeps: the courier
    # may push; and the camera is watched closely while the door is held


def test_asking_for_a_proof_is_an_outward_action_with_nothing_to_record() -> None:
    t = step(waiting_in_home(), command("at_door"), at(0), RULES)
    assert not t.record and t.lock is None and t.actions == (ProveCamera(1, at(0).mono),)


def test_a_photo_is_queued_in_the_same_record_as_the_event_that_announces_it() -> None:
    request = CaptureRequest(Purpose.DOORBELL, None)
    t = step(State(), PhotoTaken(request, "p1", "ab", 10, "t"), at(0), RULES)
    assert t.record.photos == (SharePhoto("p1", None, latest=True),)
    assert [e.type for e in t.record.events] == [EventType.DOORBELL_PRESSED]
    assert t.record.deliveries is None  # unchanged deliveries are not written


def test_an_unlock_whose_pass_cannot_be_recorded_never_happens() -> None:
    before = asked()
    t = step(before, RecordFailed(proof(), "disk full"), at(0.1), RULES)
    assert t.lock is None and t.record.consume is None
    [refusal] = t.record.events
    assert refusal.fields["reason"] == Reason.STORAGE_ERROR
    assert Reason.STORAGE_ERROR.value == "storage_error"
    assert (refusal.fields["cmd"], refusal.fields["jti"], refusal.delivery_id) == (
        "at_door",
        "at_door-1",
        "D-1",
    )
    assert t.state.unlock_pending is None and t.state.lock_target == "locked"
    assert t.state.deliveries == before.deliveries  # still waiting: the courier may retry


def test_a_relock_stands_when_its_record_cannot_be_written() -> None:
    unlocked = run(asked(), proof(), LockSensed(LockReading.UNLOCKED), rules=RULES)[0]
    t = step(unlocked, RecordFailed(command("cancel"), "disk full"), at(1), RULES)
    assert t.lock == DriveLock(True) and t.state.lock_target == "locked"
    assert t.state.deliveries[0].phase is Phase.RELOCKING


def test_a_grant_that_cannot_be_recorded_is_refused() -> None:
    t = step(State(), RecordFailed(grant(), "disk full"), at(0), RULES)
    assert t.state.deliveries == () and t.record.consume is None
    assert [e.fields["reason"] for e in t.record.events] == ["storage_error"]


def test_a_step_without_a_pass_stands_and_is_tried_once_more() -> None:
    unlocked = run(asked(), proof(), LockSensed(LockReading.UNLOCKED), rules=RULES)[0]
    t = step(unlocked, RecordFailed(DoorMoved(True), "disk full"), at(2), RULES)
    assert t.state.deliveries[0].phase is Phase.OPEN
    assert [e.type for e in t.record.events] == [EventType.DELIVERY_DOOR_OPENED]
    assert t.actions == (Capture(CaptureRequest(Purpose.DOOR_OPEN, "D-1")),)


def test_the_owners_unlock_never_happens_without_its_record() -> None:
    owner = Rules(in_home_enabled=True, owner_unlock=True)
    state = run(State(), OwnerUnlock("123456"), rules=owner)[0]
    state = run(state, CodeChecked(state.code_check, True), rules=owner)[0]
    assert state.unlock_pending is not None
    t = step(state, RecordFailed(proof(), "disk full"), at(0.1), owner)
    assert t.lock is None and t.state.lock_target == "locked" and t.state.deliveries == ()
    [refusal] = t.record.events
    assert (refusal.type, refusal.fields["cmd"], refusal.fields["reason"]) == (
        "command.rejected",
        "owner/lock",
        "storage_error",
    )
    assert t.state.unlock_pending is None


def test_the_relock_that_completes_a_delivery_is_told_before_the_completion() -> None:
    """A delivery's last event is `delivery.completed`: its receipt lists every event before
    it, the relock's `lock.changed` included."""
    relocking = run(
        asked(), proof(), LockSensed(LockReading.UNLOCKED), command("cancel"), rules=RULES
    )[0]
    t = step(relocking, LockSensed(LockReading.LOCKED), at(2), RULES)
    assert [(e.type, e.delivery_id) for e in t.record.events] == [
        (EventType.DELIVERY_LOCKED, "D-1"),
        (EventType.LOCK_CHANGED, "D-1"),
        (EventType.DELIVERY_COMPLETED, "D-1"),
    ]
