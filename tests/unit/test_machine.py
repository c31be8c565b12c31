"""The delivery state machine, transition by transition, on a fake clock."""

from __future__ import annotations

from dataclasses import replace

import pytest

from edge.domain.machine import next_wake, resume
from edge.domain.machine.view import current_delivery, public_state
from edge.domain.model import (
    CameraHealth,
    Capture,
    CaptureRequest,
    ClockChecked,
    ConsumeJti,
    Delivery,
    DoorbellPressed,
    DoorMoved,
    Emit,
    EventType,
    Indicate,
    Led,
    LockReading,
    LockSensed,
    PassRejected,
    Phase,
    PhotoFailed,
    PhotoTaken,
    Purpose,
    Rules,
    SharePhoto,
    State,
    StorageHealth,
    Tick,
)
from edge.domain.passes import Reason, Rejection
from tests.unit.helpers import (
    NOW,
    RULES,
    active,
    at,
    command,
    emitted,
    flat,
    grant,
    rejections,
    run,
    taken,
)

# --- arriving -----------------------------------------------------------------------------


def test_arriving_activates_the_delivery_and_consumes_the_jti_first() -> None:
    state, actions = run(State(), grant())
    assert actions[0] == ConsumeJti("g-1", NOW + 3600)
    assert emitted(actions) == [
        Emit(
            EventType.DELIVERY_ARRIVING,
            "D-1",
            {"mode": "doorstep", "courier": {"id": "c1", "name": "Sam"}, "confidential": False},
        )
    ]
    assert [d.id for d in state.deliveries] == ["D-1"]
    assert state.deliveries[0].phase is Phase.WAITING


def test_in_home_grant_is_refused_while_in_home_is_disabled() -> None:
    assert RULES.in_home_enabled is False
    state, actions = run(State(), grant(mode="in_home"))
    assert rejections(actions) == ["mode_not_allowed"]
    assert replace(state, rejection_windows=()) == State()  # only the rejection count moved
    assert not any(isinstance(a, ConsumeJti) for a in actions)


def test_a_second_grant_for_an_active_delivery_is_a_duplicate() -> None:
    state, actions = run(active(), grant(jti="g-2"))
    assert rejections(actions) == ["duplicate_delivery"]
    assert len(state.deliveries) == 1


def test_a_rejected_pass_consumes_nothing_and_changes_nothing() -> None:
    before = active()
    state, actions = run(before, PassRejected(Rejection("done", Reason.EXPIRED, "j-9")))
    assert replace(state, rejection_windows=()) == before
    assert actions == [
        Emit(EventType.COMMAND_REJECTED, None, {"cmd": "done", "reason": "expired", "jti": "j-9"})
    ]


# --- commands on unknown deliveries -------------------------------------------------------


@pytest.mark.parametrize("cmd", ["at_door", "done", "cancel"])
def test_commands_for_an_unknown_delivery_are_rejected(cmd: str) -> None:
    state, actions = run(active(), command(cmd, delivery_id="D-other"))
    assert rejections(actions) == ["unknown_delivery"]
    assert not any(isinstance(a, (ConsumeJti, Capture)) for a in actions)


# --- doorstep flow ------------------------------------------------------------------------


def test_at_door_on_a_doorstep_delivery_takes_a_photo_and_nothing_else() -> None:
    before = active()
    state, actions = run(before, command("at_door"))
    assert actions == [
        ConsumeJti("at_door-1", NOW + 60),
        Capture(CaptureRequest(Purpose.AT_DOOR, "D-1")),
    ]
    assert state == before


def test_done_takes_confirmation_photos_then_completes_as_delivered() -> None:
    state, actions = run(active(), command("done"))
    request = CaptureRequest(Purpose.CONFIRMATION, "D-1")
    assert actions == [ConsumeJti("done-1", NOW + 60), Capture(request)]
    assert state.deliveries[0].phase is Phase.CONFIRMING

    state, actions = run(state, taken(request, "p-confirm"))
    assert SharePhoto("p-confirm", "D-1", latest=True) in actions
    photo, completed = emitted(actions)
    assert photo.type == "delivery.photo"
    assert photo.fields == {
        "photo_id": "p-confirm",
        "sha256": "ab" * 32,
        "bytes": 1234,
        "captured_at": "2027-01-15T08:00:00.000Z",
        "local_only": False,
        "purpose": "confirmation",
        "frame": 7,
        "sensor_ns": 7_000,
    }
    assert completed == Emit(
        EventType.DELIVERY_COMPLETED,
        "D-1",
        {"outcome": "delivered", "mode": "doorstep", "photos": ["p-confirm"]},
    )
    assert state.deliveries == ()


def test_a_photo_is_queued_before_the_event_that_announces_it() -> None:
    request = CaptureRequest(Purpose.AT_DOOR, "D-1")
    _, actions = run(active(), taken(request, "p"))
    share = actions.index(SharePhoto("p", "D-1", latest=True))
    assert share < actions.index(emitted(actions, "delivery.photo")[0])


def test_several_confirmation_photos_all_arrive_before_completion() -> None:
    rules = Rules(confirmation_photos=2)
    state, actions = run(active(), command("done"), rules=rules)
    assert sum(isinstance(a, Capture) for a in actions) == 2
    request = CaptureRequest(Purpose.CONFIRMATION, "D-1")
    state, actions = run(state, taken(request, "p1"), rules=rules)
    assert not emitted(actions, "delivery.completed")
    state, actions = run(state, taken(request, "p2"), rules=rules)
    assert emitted(actions, "delivery.completed")[0].fields["photos"] == ["p1", "p2"]


def test_a_failed_confirmation_photo_still_completes_the_delivery() -> None:
    request = CaptureRequest(Purpose.CONFIRMATION, "D-1")
    state, actions = run(active(), command("done"), PhotoFailed(request, "camera: dead"))
    assert emitted(actions, "delivery.completed")[0].fields == {
        "outcome": "delivered",
        "mode": "doorstep",
        "photos": [],
    }
    assert state.deliveries == ()


def test_done_twice_is_wrong_state() -> None:
    state, actions = run(active(), command("done"), command("done", jti="done-2"))
    assert rejections(actions) == ["wrong_state"]


def test_cancel_completes_with_cancelled() -> None:
    state, actions = run(active(), command("cancel"))
    assert actions[0] == ConsumeJti("cancel-1", NOW + 60)
    assert emitted(actions) == [
        Emit(
            EventType.DELIVERY_COMPLETED,
            "D-1",
            {"outcome": "cancelled", "mode": "doorstep", "photos": []},
        )
    ]
    assert state.deliveries == ()


def test_a_photo_arriving_after_the_delivery_ended_is_still_reported() -> None:
    request = CaptureRequest(Purpose.AT_DOOR, "D-1")
    state, actions = run(active(), command("cancel"), taken(request, "late"))
    assert emitted(actions, "delivery.photo")[0].fields["photo_id"] == "late"
    assert SharePhoto("late", "D-1", latest=True) in actions


# --- confidential -------------------------------------------------------------------------


def test_confidential_photos_stay_local() -> None:
    state, _ = run(State(), grant(confidential=True))
    request = CaptureRequest(Purpose.CONFIRMATION, "D-1", confidential=True)
    state, actions = run(state, command("done"))
    assert Capture(request) in actions
    state, actions = run(state, taken(request))
    assert not any(isinstance(a, SharePhoto) for a in actions)
    assert emitted(actions, "delivery.photo")[0].fields["local_only"] is True


# --- doorbell -----------------------------------------------------------------------------


def test_doorbell_without_a_delivery_is_a_snapshot() -> None:
    state, actions = run(State(), DoorbellPressed())
    request = CaptureRequest(Purpose.DOORBELL, None)
    assert actions == [Capture(request)]
    state, actions = run(state, taken(request, "snap"))
    assert actions == [
        SharePhoto("snap", None, latest=True),
        Emit(EventType.DOORBELL_PRESSED, None, {"photo_id": "snap"}),
    ]


def test_doorbell_during_a_doorstep_delivery_counts_for_it() -> None:
    state, actions = run(active(), DoorbellPressed())
    request = CaptureRequest(Purpose.DOORBELL, "D-1")
    assert actions == [Capture(request)]
    state, actions = run(state, taken(request, "bell"))
    assert [e.type for e in emitted(actions)] == ["delivery.photo", "doorbell.pressed"]
    assert SharePhoto("bell", "D-1", latest=True) in actions
    assert state.deliveries[0].photos == ("bell",)


def test_doorbell_photo_failure_still_reports_the_press() -> None:
    request = CaptureRequest(Purpose.DOORBELL, None)
    _, actions = run(State(), PhotoFailed(request, "camera: dead"))
    assert actions == [Emit(EventType.DOORBELL_PRESSED, None, {"photo_id": None})]


# --- time ---------------------------------------------------------------------------------


def test_a_waiting_grant_expires_at_its_exp() -> None:
    state = run(State(), grant(exp=NOW + 100))[0]
    assert next_wake(state, at(0)) == 100
    state, actions = run(state, Tick(), now=at(99.9))
    assert actions == []
    state, actions = run(state, Tick(), now=at(100))
    assert emitted(actions) == [
        Emit(
            EventType.DELIVERY_COMPLETED,
            "D-1",
            {"outcome": "expired", "mode": "doorstep", "photos": []},
        )
    ]
    assert next_wake(state, at(100)) is None


def test_a_confirming_delivery_does_not_expire_with_its_grant() -> None:
    state = run(State(), grant(exp=NOW + 10), command("done"))[0]
    assert next_wake(state, at(0)) == RULES.photo_timeout_s
    state, actions = run(state, Tick(), now=at(11))
    assert actions == [] and len(state.deliveries) == 1


def test_a_photo_that_never_comes_back_completes_the_delivery_and_flags_the_camera() -> None:
    request = CaptureRequest(Purpose.CONFIRMATION, "D-1")
    state = run(
        active(),
        DoorbellPressed(),
        taken(CaptureRequest(Purpose.DOORBELL, "D-1"), "b"),
        command("done"),
    )[0]
    state, actions = run(state, Tick(), now=at(RULES.photo_timeout_s - 0.1))
    assert actions == []
    state, actions = run(state, Tick(), now=at(RULES.photo_timeout_s))
    assert emitted(actions) == [
        Emit(EventType.ALARM_CAMERA_FAULT, "D-1", {"detail": "no confirmation photo came back"}),
        Emit(
            EventType.DELIVERY_COMPLETED,
            "D-1",
            {"outcome": "delivered", "mode": "doorstep", "photos": ["b"]},
        ),
    ]
    assert state.deliveries == () and not state.camera_ok
    _, late = run(state, taken(request, "late"))
    assert emitted(late, "delivery.photo")[0].fields["photo_id"] == "late"


def test_resume_retakes_lost_confirmation_photos_with_a_fresh_deadline() -> None:
    state = run(active(), command("done"))[0]
    t = resume(state, at(3600), RULES)
    state, actions = t.state, flat(t)
    assert actions == [
        Capture(CaptureRequest(Purpose.CONFIRMATION, "D-1")),
        Indicate(Led.OFF, door_alarm=False),
    ]
    assert next_wake(state, at(3600)) == RULES.photo_timeout_s
    assert flat(resume(active(), at(3600), RULES)) == [Indicate(Led.OFF, door_alarm=False)]


# --- the world ----------------------------------------------------------------------------


def test_camera_fault_raises_one_alarm_and_shows_in_state() -> None:
    state, actions = run(active(), CameraHealth(False), CameraHealth(False))
    assert emitted(actions) == [Emit(EventType.ALARM_CAMERA_FAULT, "D-1")]
    assert public_state(state, RULES)["camera"] == "fault"
    state, actions = run(state, CameraHealth(True))
    assert actions == [] and public_state(state, RULES)["camera"] == "ok"


def test_storage_alarms_once_per_area_and_clears() -> None:
    state, actions = run(
        active(),
        StorageHealth("photos", False),
        StorageHealth("photos", False),
        StorageHealth("outbox", False),
    )
    assert emitted(actions) == [
        Emit(EventType.ALARM_STORAGE_FULL, "D-1", {"area": "photos"}),
        Emit(EventType.ALARM_STORAGE_FULL, "D-1", {"area": "outbox"}),
    ]
    assert public_state(state, RULES)["storage"] == "full"
    state, actions = run(state, StorageHealth("photos", True), StorageHealth("outbox", True))
    assert actions == [] and public_state(state, RULES)["storage"] == "ok"


def test_the_state_tells_what_the_lock_sensor_reads() -> None:
    # Outside a relock (say the homeowner turned the bolt by hand) the reading is the truth,
    # and every change is in the audit trail as `manual`.
    state, actions = run(State(), LockSensed(LockReading.UNLOCKED))
    assert state.lock == "unlocked" and emitted(actions) == []
    assert [e.fields for e in emitted(actions, "lock.changed")] == [
        {"from": "locked", "to": "unlocked", "source": "manual"}
    ]
    state, actions = run(state, LockSensed(LockReading.LOCKED))
    assert state.lock == "locked" and emitted(actions, "lock.changed")[0].fields["to"] == "locked"


def test_public_state_shows_door_and_the_latest_delivery() -> None:
    state = run(State(), grant("D-1"), grant("D-2", jti="g-2"), DoorMoved(True))[0]
    assert current_delivery(state).id == "D-2"  # type: ignore[union-attr]
    assert public_state(state, Rules(in_home_enabled=True)) == {
        "lock": "locked",
        "door": "open",
        "camera": "ok",
        "clock": "synced",
        "storage": "ok",
        "in_home_enabled": True,
        "indicator": "off",
        "delivery": {"id": "D-2", "mode": "doorstep", "phase": "waiting"},
    }
    assert public_state(State(), RULES)["delivery"] is None
    assert public_state(run(State(), ClockChecked(False))[0], RULES)["clock"] == "unsynced"


def test_steps_never_mutate_their_input() -> None:
    before = active()
    snapshot = replace(before)
    run(before, command("done"), command("cancel"), DoorMoved(True), Tick())
    assert before == snapshot
    assert isinstance(before.deliveries[0], Delivery)


def test_with_a_drop_zone_the_mat_is_looked_at_on_arriving_and_the_verdict_is_told() -> None:
    rules = Rules(drop_zone=True)
    state, actions = run(State(), grant(), rules=rules)
    assert Capture(CaptureRequest(Purpose.REFERENCE, "D-1")) in actions
    request = CaptureRequest(Purpose.CONFIRMATION, "D-1")
    state = run(state, command("done"), rules=rules)[0]
    photo = PhotoTaken(request, "p", "ab", 1, "t", parcel_visible=True)
    _, actions = run(state, photo, rules=rules)
    assert emitted(actions, "delivery.completed")[0].fields["parcel_visible"] is True
    assert Capture(CaptureRequest(Purpose.REFERENCE, "D-1")) not in run(State(), grant())[1]


def test_the_door_moving_outside_any_delivery_is_told_and_a_forced_one_raises_an_alarm() -> None:
    # Before: no event at all, only the door field of the state.
    sensed = Rules(lock_sensed=True)
    state, actions = run(State(lock=LockReading.LOCKED), DoorMoved(True), rules=sensed)
    assert [e.type for e in emitted(actions)] == ["door.opened", "alarm.forced_entry"]
    state, actions = run(state, DoorMoved(False), rules=sensed)
    assert [e.type for e in emitted(actions)] == ["door.closed"]
    state, _ = run(state, LockSensed(LockReading.UNLOCKED), rules=sensed)  # a key or thumb turn
    state, actions = run(state, DoorMoved(True), rules=sensed)
    assert [e.type for e in emitted(actions)] == ["door.opened"]  # the homeowner going out
    # Without a bolt sensor "locked" is only the relay: no alarm for a door opened by key.
    _, actions = run(State(lock=LockReading.LOCKED), DoorMoved(True), rules=Rules())
    assert [e.type for e in emitted(actions)] == ["door.opened"]


def test_active_deliveries_are_capped() -> None:
    rules = Rules(max_active_deliveries=3)
    state = State()
    for n in range(3):
        state = run(state, grant(delivery_id=f"D-{n}", jti=f"g-{n}"), rules=rules)[0]
    state, actions = run(state, grant(delivery_id="D-9", jti="g-9"), rules=rules)
    assert rejections(actions) == ["too_many_deliveries"] and len(state.deliveries) == 3
