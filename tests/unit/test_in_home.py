"""The in-home sequence of docs/protocol.md §3 with a fake clock: gates, timers, relocking,
races."""

from __future__ import annotations

from dataclasses import replace

import pytest

from edge.domain.machine import next_wake, resume
from edge.domain.machine.common import holder
from edge.domain.machine.view import public_state
from edge.domain.model import (
    CameraHealth,
    Capture,
    CaptureRequest,
    ConsumeJti,
    DoorMoved,
    DriveLock,
    FrameProof,
    LockReading,
    LockSensed,
    Phase,
    ProveCamera,
    Purpose,
    Rules,
    State,
    Tick,
)
from tests.unit.helpers import (
    at,
    command,
    emitted,
    flat,
    frame_at,
    grant,
    proof,
    rejections,
    run,
    taken,
)

RULES = Rules(
    in_home_enabled=True,
    unlock_timeout_s=30,
    door_open_alarm_s=120,
    relock_delay_s=2,
    lock_verify_s=3,
    open_photo_interval_s=5,
)
CONFIRM = CaptureRequest(Purpose.CONFIRMATION, "D-1")


def go(state: State, *inputs: object, t: float = 0, rules: Rules = RULES):
    return run(state, *inputs, now=at(t), rules=rules)


def types(actions: list[object]) -> list[str]:
    return [e.type for e in emitted(actions)]


def drives(actions: list[object]) -> list[bool]:
    return [a.locked for a in actions if isinstance(a, DriveLock)]


def waiting() -> State:
    return go(State(), grant(mode="in_home"))[0]


def unlocked() -> State:
    return go(waiting(), command("at_door"), proof(), LockSensed(LockReading.UNLOCKED))[0]


def opened() -> State:
    return go(unlocked(), DoorMoved(True), t=5)[0]


def phase(state: State) -> Phase | None:
    return state.deliveries[0].phase if state.deliveries else None


# --- gates ----------------------------------------------------------------------------------


def test_at_door_asks_the_camera_for_a_fresh_frame_before_anything_else() -> None:
    state, actions = go(waiting(), command("at_door"), t=4)
    assert actions == [ProveCamera(1, not_before=at(4).mono)]
    assert phase(state) is Phase.WAITING and state.lock_target == "locked"
    assert next_wake(state, at(4)) == pytest.approx(RULES.camera_proof_s)


def test_a_fresh_frame_unlocks_after_consuming_the_pass() -> None:
    state, actions = go(go(waiting(), command("at_door"), t=4)[0], proof(t=4.05), t=4.1)
    assert actions[:2] == [ConsumeJti("at_door-1", at(60).wall), DriveLock(False)]
    assert types(actions) == ["delivery.unlocked"]
    assert phase(state) is Phase.UNLOCKED and state.lock_target == "unlocked"
    assert state.unlock_pending is None
    assert public_state(state, RULES)["delivery"]["phase"] == "unlocked"


def asked() -> State:
    return go(waiting(), command("at_door"), t=4)[0]


@pytest.mark.parametrize(
    "answer, detail",
    [
        (FrameProof(1, frame_at(4.1, 7), frame_at(4.1, 7)), "frame counter stopped advancing at 7"),
        (FrameProof(1, frame_at(4.1, 8), frame_at(4.1, 7)), "sensor timestamp stopped advancing"),
        (FrameProof(1, frame_at(3.9, 8), frame_at(3.7, 7)), "the frame is older than the pass"),
        (FrameProof(1, None, frame_at(3.7, 7), "picamera2: timeout"), "picamera2: timeout"),
        (FrameProof(1, frame_at(4.1, 8), None), "no earlier frame to compare with"),
    ],
)
def test_no_fresh_frame_no_unlock(answer: FrameProof, detail: str) -> None:
    state, actions = go(asked(), answer, t=4.2)
    assert drives(actions) == [] and not any(isinstance(a, ConsumeJti) for a in actions)
    rejected = emitted(actions, "command.rejected")[0]
    assert rejected.fields["reason"] == "camera_unavailable"
    assert rejected.fields["jti"] == "at_door-1"
    assert rejected.fields["detail"].startswith(detail)
    assert types(actions) == ["command.rejected", "alarm.camera_fault"]
    assert state.unlock_pending is None and not state.camera_ok and phase(state) is Phase.WAITING


def test_a_camera_that_does_not_answer_in_time_is_unavailable() -> None:
    state, actions = go(asked(), Tick(), t=4 + RULES.camera_proof_s)
    assert rejections(actions) == ["camera_unavailable"] and drives(actions) == []
    state, actions = go(state, proof(t=5.5), t=5.5)  # too late: nobody waits for it
    assert actions == [] and drives(actions) == []


def test_an_answer_to_an_older_request_proves_nothing() -> None:
    state = go(asked(), Tick(), t=5.1)[0]  # request 1 timed out
    state = go(state, CameraHealth(True), command("at_door", jti="a-2"), t=6)[0]
    state, actions = go(state, proof(1, t=6.1), t=6.2)
    assert actions == [] and state.unlock_pending is not None
    state, actions = go(state, proof(2, t=6.1), t=6.2)
    assert drives(actions) == [False]


def test_while_the_camera_is_asked_the_door_is_claimed() -> None:
    state = go(asked(), grant("D-2", jti="g-2", mode="in_home"))[0]
    assert rejections(go(state, command("at_door", "D-2", jti="x"))[1]) == ["busy"]
    assert rejections(go(state, command("at_door", jti="y"))[1]) == ["wrong_state"]


@pytest.mark.parametrize(
    "meanwhile, reason",
    [
        (lambda state: go(state, command("cancel"), t=4.05)[0], "wrong_state"),
        (lambda state: go(state, command("done"), t=4.05)[0], "wrong_state"),
        (lambda state: replace(state, lock=LockReading.JAMMED), "lock_fault"),
    ],
    ids=["cancelled", "done", "jammed"],
)
def test_the_gates_are_asked_again_when_the_frame_arrives(meanwhile, reason) -> None:
    state, actions = go(meanwhile(asked()), proof(t=4.1), t=4.1)
    assert rejections(actions) == [reason] and drives(actions) == []


def test_in_home_turned_off_while_the_camera_answers_never_unlocks() -> None:
    state, actions = go(asked(), proof(t=4.1), t=4.1, rules=replace(RULES, in_home_enabled=False))
    assert rejections(actions) == ["mode_not_allowed"] and drives(actions) == []


def test_a_fresh_frame_clears_a_stale_camera_fault() -> None:
    state = go(asked(), CameraHealth(False), t=4.01)[0]  # a probe failed after the gate
    state, actions = go(state, proof(t=4.1), t=4.1)
    assert drives(actions) == [False] and state.camera_ok


def test_in_home_disabled_by_the_homeowner_after_the_grant_never_unlocks() -> None:
    state, actions = go(waiting(), command("at_door"), rules=replace(RULES, in_home_enabled=False))
    assert rejections(actions) == ["mode_not_allowed"] and drives(actions) == []


def test_another_delivery_holding_the_door_is_busy() -> None:
    state = go(unlocked(), grant("D-2", jti="g-2", mode="in_home"))[0]
    state, actions = go(state, command("at_door", "D-2", jti="a-2"))
    assert rejections(actions) == ["busy"] and drives(actions) == []


def test_a_camera_believed_down_is_asked_again_and_only_its_proof_decides() -> None:
    state, actions = go(waiting(), CameraHealth(False), command("at_door"))
    assert actions[-1:] == [ProveCamera(1, not_before=at(0).mono)] and drives(actions) == []
    down = go(state, FrameProof(1, None, frame_at(-1, 3), "no frames"), t=0.1)[1]
    assert rejections(down) == ["camera_unavailable"] and drives(down) == []
    back = go(state, proof(t=0.1), t=0.1)[1]  # it recovered since the last probe
    assert drives(back) == [False]


def test_a_second_at_door_for_the_same_delivery_is_wrong_state() -> None:
    state, actions = go(unlocked(), command("at_door", jti="a-2"))
    assert rejections(actions) == ["wrong_state"] and drives(actions) == []


def test_gates_in_protocol_order_busy_before_camera_before_state() -> None:
    state = go(unlocked(), grant("D-2", jti="g-2", mode="in_home"), CameraHealth(False))[0]
    assert rejections(go(state, command("at_door", "D-2", jti="x"))[1]) == ["busy"]
    asked = go(state, command("at_door", jti="y"), t=1)[0]  # wrong state, camera believed down
    number = asked.unlock_pending.proof_id
    no_frame = FrameProof(number, None, frame_at(0.5, 3), "no frames")
    assert rejections(go(asked, no_frame, t=1.1)[1]) == ["camera_unavailable"]
    assert rejections(go(asked, proof(number, t=1.1), t=1.1)[1]) == ["wrong_state"]


def test_a_jammed_lock_is_not_opened_again() -> None:
    state = replace(waiting(), lock=LockReading.JAMMED)
    state, actions = go(state, command("at_door"))
    assert rejections(actions) == ["lock_fault"] and drives(actions) == []


def test_a_door_that_already_stands_open_is_not_unlocked() -> None:
    # Before: unlocked, relocked 8 s later, not_entered, no photos and no alarm.
    state = go(waiting(), DoorMoved(True))[0]
    state, actions = go(state, command("at_door"), proof())
    assert rejections(actions) == ["door_open"] and drives(actions) == []
    state, actions = go(state, DoorMoved(False), command("at_door", jti="j-again"), proof(t=1), t=1)
    assert drives(actions) == [False]  # closed again, the courier's next at_door opens it


# --- the happy path -------------------------------------------------------------------------


def test_full_sequence_open_close_relock_verify_photo_complete() -> None:
    state, actions = go(unlocked(), DoorMoved(True), t=5)
    assert types(actions) == ["delivery.door_opened"]
    assert Capture(CaptureRequest(Purpose.DOOR_OPEN, "D-1")) in actions
    assert phase(state) is Phase.OPEN

    state, actions = go(state, DoorMoved(False), t=20)
    assert types(actions) == ["delivery.door_closed"] and drives(actions) == []
    assert next_wake(state, at(20)) == 2

    state, actions = go(state, Tick(), t=21.9)
    assert actions == []
    state, actions = go(state, Tick(), t=22)
    assert drives(actions) == [True] and phase(state) is Phase.RELOCKING
    assert state.lock_target == "locked"

    state, actions = go(state, LockSensed(LockReading.LOCKED), t=22.1)
    assert types(actions) == ["delivery.locked"]
    assert [a for a in actions if isinstance(a, Capture)] == [Capture(CONFIRM)]
    assert state.lock == "locked" and phase(state) is Phase.CONFIRMING

    state, actions = go(state, taken(CONFIRM, "confirm"), t=22.5)
    completed = emitted(actions, "delivery.completed")[0]
    assert completed.fields == {"outcome": "delivered", "mode": "in_home", "photos": ["confirm"]}
    assert state.deliveries == () and holder(state) is None


def test_photos_keep_coming_while_the_door_stays_open() -> None:
    state = opened()
    captures = 0
    for t in range(6, 30):
        state, actions = go(state, Tick(), t=t)
        captures += sum(isinstance(a, Capture) for a in actions)
    assert captures == 4  # at 10, 15, 20, 25 after opening at 5


def test_door_left_open_raises_one_alarm_and_keeps_watching() -> None:
    state, actions = go(opened(), Tick(), t=124.9)
    assert "alarm.door_left_open" not in types(actions)
    state, actions = go(state, Tick(), t=125)
    assert "alarm.door_left_open" in types(actions)
    state, actions = go(state, Tick(), DoorMoved(False), DoorMoved(True), Tick(), t=500)
    assert "alarm.door_left_open" not in types(actions)
    assert phase(state) is Phase.OPEN and drives(actions) == []


def test_door_reopened_before_the_relock_goes_back_to_open() -> None:
    state, _ = go(opened(), DoorMoved(False), t=10)
    state, actions = go(state, DoorMoved(True), t=11)
    assert phase(state) is Phase.OPEN and drives(actions) == []
    state, actions = go(state, Tick(), t=13)
    assert drives(actions) == []  # the earlier relock deadline is gone


def test_relock_delay_zero_relocks_as_the_door_closes() -> None:
    rules = replace(RULES, relock_delay_s=0)
    state, actions = go(opened(), DoorMoved(False), t=10, rules=rules)
    assert drives(actions) == [True] and phase(state) is Phase.RELOCKING


# --- timers and failures --------------------------------------------------------------------


def test_not_opened_in_time_relocks_not_entered() -> None:
    state, actions = go(unlocked(), Tick(), t=29.9)
    assert actions == []
    state, actions = go(state, Tick(), t=30)
    assert drives(actions) == [True]
    state, actions = go(state, LockSensed(LockReading.LOCKED), t=30.1)
    assert types(actions) == ["delivery.locked", "delivery.completed"]
    assert emitted(actions, "delivery.completed")[0].fields["outcome"] == "not_entered"


def test_lock_not_verified_in_time_is_jammed_aborted_and_retried_on_a_backoff() -> None:
    state, _ = go(opened(), DoorMoved(False), t=20)
    state, _ = go(state, Tick(), t=22)
    state, actions = go(state, Tick(), t=24.9)
    assert actions == []
    state, actions = go(state, Tick(), t=25)
    assert types(actions) == ["alarm.lock_fault", "delivery.completed"]
    assert emitted(actions, "delivery.completed")[0].fields["outcome"] == "aborted"
    assert state.lock == "jammed" and public_state(state, RULES)["lock"] == "jammed"

    retries = []
    for t in range(26, 200):
        state, actions = go(state, Tick(), LockSensed(LockReading.UNLOCKED), t=t)
        retries += [t] * len(drives(actions))
        assert drives(actions) in ([], [True])
    assert retries[:4] == [26, 28, 32, 40]  # 1, 2, 4, 8 s backoff
    assert state.lock == "jammed"
    state, actions = go(state, LockSensed(LockReading.LOCKED), t=201)
    assert state.lock == "locked" and next_wake(state, at(201)) is None


def test_camera_fault_during_in_home_alarms_and_does_not_delay_the_relock() -> None:
    state, actions = go(opened(), CameraHealth(False), t=6)
    assert types(actions) == ["alarm.camera_fault"]
    state, actions = go(state, DoorMoved(False), t=7)
    state, actions = go(state, Tick(), t=9)
    assert drives(actions) == [True]


def test_a_confirmation_photo_that_never_returns_still_completes() -> None:
    state, _ = go(opened(), DoorMoved(False), t=20)
    state, _ = go(state, Tick(), LockSensed(LockReading.LOCKED), t=22)
    assert phase(state) is Phase.CONFIRMING
    state, actions = go(state, Tick(), t=22 + RULES.photo_timeout_s)
    assert emitted(actions, "delivery.completed")[0].fields["outcome"] == "delivered"


# --- races and commands mid-sequence --------------------------------------------------------


def test_door_opens_the_same_instant_the_unlock_times_out_open_first() -> None:
    state, actions = go(unlocked(), DoorMoved(True), Tick(), t=30)
    assert drives(actions) == [] and phase(state) is Phase.OPEN


def test_door_opens_the_same_instant_the_unlock_times_out_timeout_first() -> None:
    state, actions = go(unlocked(), Tick(), DoorMoved(True), t=30)
    assert drives(actions) == [True]  # relock was driven and stays driven
    assert phase(state) is Phase.OPEN and state.lock_target == "locked"
    state, actions = go(state, DoorMoved(False), t=40)
    state, actions = go(state, Tick(), LockSensed(LockReading.LOCKED), taken(CONFIRM), t=42)
    assert emitted(actions, "delivery.completed")[0].fields["outcome"] == "delivered"


def test_done_while_the_door_is_open_relocks_as_soon_as_it_closes() -> None:
    state, actions = go(opened(), command("done"), t=6)
    assert actions == [ConsumeJti("done-1", at(60).wall)] and phase(state) is Phase.OPEN
    state, actions = go(state, DoorMoved(False), t=8)
    assert types(actions) == ["delivery.door_closed"] and drives(actions) == [True]


def test_done_after_the_door_closed_skips_the_relock_delay() -> None:
    state, _ = go(opened(), DoorMoved(False), t=8)
    state, actions = go(state, command("done"), t=8.5)
    assert drives(actions) == [True] and phase(state) is Phase.RELOCKING


def test_done_twice_while_open_is_wrong_state() -> None:
    state, actions = go(opened(), command("done"), command("done", jti="d-2"), t=6)
    assert rejections(actions) == ["wrong_state"]


def test_done_before_at_door_takes_the_photo_without_unlocking() -> None:
    state, actions = go(waiting(), command("done"))
    assert drives(actions) == [] and actions[1:] == [Capture(CONFIRM)]


def test_cancel_while_unlocked_relocks_then_completes_cancelled() -> None:
    state, actions = go(unlocked(), command("cancel"), t=3)
    assert drives(actions) == [True]
    state, actions = go(state, LockSensed(LockReading.LOCKED), t=3.1)
    assert emitted(actions, "delivery.completed")[0].fields["outcome"] == "cancelled"


def test_cancel_while_open_relocks_at_once() -> None:
    state, actions = go(opened(), command("cancel"), t=6)
    assert drives(actions) == [True] and phase(state) is Phase.RELOCKING


def test_expiry_while_unlocked_or_open_changes_nothing() -> None:
    state = go(State(), grant(mode="in_home", exp=at(10).wall))[0]
    state = go(state, command("at_door"), proof(t=1), DoorMoved(True), t=1)[0]
    state, actions = go(state, Tick(), t=11)
    assert types(actions) == [] and drives(actions) == [] and phase(state) is Phase.OPEN


def test_expiry_while_waiting_completes_expired_without_moving_the_lock() -> None:
    state = go(State(), grant(mode="in_home", exp=at(10).wall))[0]
    state, actions = go(state, Tick(), t=10)
    assert drives(actions) == []
    assert emitted(actions, "delivery.completed")[0].fields["outcome"] == "expired"


# --- restart --------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [unlocked, opened])
def test_a_restart_mid_sequence_completes_interrupted(make) -> None:
    t = resume(make(), at(100), RULES)
    state, actions = t.state, flat(t)
    assert types(actions) == ["delivery.completed"]
    assert emitted(actions)[0].fields["outcome"] == "interrupted"
    assert state.deliveries == () and state.lock_target == "locked"
    assert not any(isinstance(a, DriveLock) and not a.locked for a in actions)


def test_the_state_topic_shows_the_door_holder_first() -> None:
    state = go(unlocked(), grant("D-2", jti="g-2"))[0]
    assert public_state(state, RULES)["delivery"]["id"] == "D-1"
