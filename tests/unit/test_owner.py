"""The homeowner's commands (docs/protocol.md §8) and the lock's audit trail, in the pure
domain: parsing, relock now, the in-home switch, snapshots, owner unlock with its lockout,
`lock.changed`, `last_delivery`."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.domain.machine import resume, step
from edge.domain.machine.view import public_state
from edge.domain.model import (
    Capture,
    CaptureRequest,
    CheckCode,
    CodeChecked,
    ConsumeJti,
    DoorMoved,
    DriveLock,
    FrameProof,
    LockReading,
    LockSensed,
    Now,
    Phase,
    PhotoTaken,
    ProveCamera,
    Purpose,
    Retain,
    Rules,
    SharePhoto,
    State,
    Tick,
)
from edge.domain.owner import (
    OwnerInHome,
    OwnerLock,
    OwnerRejected,
    OwnerSnapshot,
    OwnerUnlock,
    parse_owner,
)
from edge.domain.passes import Reason, Rejection
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

RULES = Rules(in_home_enabled=True)


@pytest.mark.parametrize(
    "name, payload, parsed",
    [
        ("lock", b"LOCK", OwnerLock()),
        ("lock", b'{"action": "LOCK"}', OwnerLock()),
        ("lock", b'{"action": "LOCK", "code": "None"}', OwnerLock()),  # Home Assistant's lock
        ("lock", b'{"action": "UNLOCK", "code": "123456"}', OwnerUnlock("123456")),
        ("lock", b'{"action": "UNLOCK", "code": "None"}', OwnerUnlock("None")),  # refused later
        ("in_home", b"ON", OwnerInHome(True)),
        ("in_home", b"OFF", OwnerInHome(False)),
        ("snapshot", b"PRESS", OwnerSnapshot()),
    ],
)
def test_the_documented_forms_parse(name: str, payload: bytes, parsed: object) -> None:
    assert parse_owner(name, payload) == parsed


@pytest.mark.parametrize(
    "name, payload",
    [
        ("lock", b"lock"),
        ("lock", b"UNLOCK"),
        ("lock", b'{"action": "UNLOCK"}'),
        ("lock", b'{"action": "UNLOCK", "code": 123456}'),  # not a string
        ("lock", b'{"action": "OPEN", "code": "123456"}'),
        ("lock", b'{"action": "LOCK", "extra": 1}'),
        ("lock", b"[]"),
        ("lock", b"\xff"),
        ("lock", b"[" * 5000),
        ("in_home", b"on"),
        ("in_home", b"ON "),
        ("snapshot", b""),
    ],
)
def test_anything_else_is_malformed(name: str, payload: bytes) -> None:
    parsed = parse_owner(name, payload)
    assert isinstance(parsed, OwnerRejected)
    assert (parsed.rejection.cmd, parsed.rejection.reason) == (f"owner/{name}", "malformed")


def test_an_unknown_owner_command_is_named() -> None:
    parsed = parse_owner("open", b"PLEASE")
    assert isinstance(parsed, OwnerRejected) and parsed.rejection.reason == "unknown_command"


def test_an_unlock_code_never_shows_in_a_repr() -> None:
    assert "123456" not in repr(OwnerUnlock("123456"))


def unlocked() -> State:
    return run(
        State(),
        grant(mode="in_home"),
        command("at_door"),
        proof(),
        LockSensed(LockReading.UNLOCKED),
        rules=RULES,
    )[0]


def test_relock_now_ends_an_in_home_delivery_cancelled() -> None:
    state, actions = run(unlocked(), OwnerLock(), rules=RULES, now=at(2))
    assert DriveLock(True) in actions and state.deliveries[0].phase is Phase.RELOCKING
    state, actions = run(state, LockSensed(LockReading.LOCKED), rules=RULES, now=at(2.1))
    assert emitted(actions, "delivery.completed")[0].fields["outcome"] == "cancelled"
    assert [e.fields["source"] for e in emitted(actions, "lock.changed")] == ["owner"]


def test_relock_now_with_nothing_holding_the_door_still_drives_it_locked() -> None:
    state, actions = run(
        State(lock=LockReading.UNLOCKED), OwnerLock(), rules=RULES
    )  # a hand turned it
    assert DriveLock(True) in actions and state.lock_target == "locked"
    assert rejections(actions) == []


def test_relock_now_refuses_an_unlock_still_waiting_for_the_camera() -> None:
    asked = run(State(), grant(mode="in_home"), command("at_door"), rules=RULES)[0]
    state, actions = run(asked, OwnerLock(), rules=RULES)
    assert rejections(actions) == ["wrong_state"] and state.unlock_pending is None
    assert flat(step(state, proof(), at(0.1), RULES)) == []  # its answer opens nothing


def test_the_in_home_switch_is_live_and_recorded() -> None:
    t = step(State(), OwnerInHome(False), at(0), RULES)
    assert t.record.settings is not None and t.record.settings.in_home is False
    assert public_state(t.state, RULES)["in_home_enabled"] is False
    assert rejections(run(t.state, grant(mode="in_home"), rules=RULES)[1]) == ["mode_not_allowed"]
    on = step(State(), OwnerInHome(True), at(0), Rules(in_home_enabled=False)).state
    assert public_state(on, Rules(in_home_enabled=False))["in_home_enabled"] is True


def test_switching_in_home_off_lets_an_unlocked_door_finish_its_sequence() -> None:
    state, actions = run(unlocked(), OwnerInHome(False), rules=RULES, now=at(1))
    assert DriveLock(True) not in actions and state.deliveries[0].phase is Phase.UNLOCKED


def test_snapshots_are_rate_limited_to_one_per_five_seconds() -> None:
    state, actions = run(State(), OwnerSnapshot(), rules=RULES, now=at(0))
    assert actions == [Capture(CaptureRequest(Purpose.OWNER, None))]
    _, again = run(state, OwnerSnapshot(), rules=RULES, now=at(4.9))
    assert rejections(again) == ["rate_limited"]
    assert emitted(again)[0].fields["cmd"] == "owner/snapshot"
    assert run(state, OwnerSnapshot(), rules=RULES, now=at(5))[1] == actions


def test_an_owner_snapshot_is_shared_and_becomes_the_latest_image() -> None:
    request = CaptureRequest(Purpose.OWNER, None)
    _, actions = run(State(), PhotoTaken(request, "p1", "ab", 10, "t"), rules=RULES)
    assert actions == [SharePhoto("p1", None, latest=True)]  # no doorbell event


def test_a_confidential_photo_never_becomes_the_latest_image() -> None:
    state = run(State(), grant(confidential=True), rules=RULES)[0]
    request = CaptureRequest(Purpose.DOORBELL, "D-1", confidential=True)
    _, actions = run(state, taken(request), rules=RULES)
    assert not [a for a in actions if isinstance(a, SharePhoto)]


def test_every_change_of_the_lock_says_who_moved_it() -> None:
    state = run(State(), grant(mode="in_home"), command("at_door"), rules=RULES)[0]
    t = step(state, proof(), at(0.1), RULES)
    state, actions = run(t.state, LockSensed(LockReading.UNLOCKED), rules=RULES, now=at(0.2))
    [opened] = emitted(actions, "lock.changed")
    assert (opened.delivery_id, opened.fields) == (
        "D-1",
        {"from": "locked", "to": "unlocked", "source": "pass"},
    )
    state, actions = run(
        state, command("cancel"), LockSensed(LockReading.LOCKED), rules=RULES, now=at(1)
    )
    assert [e.fields["source"] for e in emitted(actions, "lock.changed")] == ["relock"]
    state, actions = run(state, LockSensed(LockReading.UNLOCKED), rules=RULES, now=at(9))
    assert emitted(actions, "lock.changed")[0].fields["source"] == "manual"


def test_a_restart_after_a_crash_while_unlocked_says_startup() -> None:
    t = resume(unlocked(), at(50), RULES)
    state, actions = run(t.state, LockSensed(LockReading.LOCKED), rules=RULES, now=at(50))
    assert [e.fields for e in emitted(actions, "lock.changed")] == [
        {"from": "unlocked", "to": "locked", "source": "startup"}
    ]
    assert resume(State(), at(0), RULES).state.lock_source is None  # nothing moved


def test_a_completed_delivery_is_retained_for_dashboards() -> None:
    t = step(run(State(), grant(), rules=RULES)[0], command("cancel"), at(3), RULES)
    assert t.record.retained == (
        Retain(
            "last_delivery",
            {"delivery_id": "D-1", "outcome": "cancelled", "mode": "doorstep", "photos": []},
        ),
    )


# --- owner unlock ---------------------------------------------------------------------------

OWNER = Rules(in_home_enabled=True, owner_unlock=True, unlock_timeout_s=30, relock_delay_s=2)


def checked(state: State, ok: bool = True, t: float = 0) -> tuple[State, list]:
    """Ask with a code, then answer the CheckCode the machine asked for."""
    state, actions = run(state, OwnerUnlock("123456"), rules=OWNER, now=at(t))
    [check] = [a for a in actions if isinstance(a, CheckCode)]
    assert "123456" not in repr(check)
    return run(state, CodeChecked(check.check_id, ok), rules=OWNER, now=at(t))


def test_owner_unlock_is_off_unless_a_code_is_configured() -> None:
    _, actions = run(State(), OwnerUnlock("123456"), rules=RULES)
    assert rejections(actions) == ["owner_unlock_disabled"]
    assert emitted(actions)[0].fields["cmd"] == "owner/lock"


def test_a_right_code_and_a_watching_camera_open_the_door_for_the_owner() -> None:
    state, actions = checked(State())
    assert [a for a in actions if isinstance(a, ProveCamera)] == [ProveCamera(1, at(0).mono)]
    state, actions = run(state, proof(t=0.1), rules=OWNER, now=at(0.1))
    assert DriveLock(False) in actions and not any(isinstance(a, ConsumeJti) for a in actions)
    assert [(e.type, e.delivery_id) for e in emitted(actions)] == [("owner.unlocked", None)]
    state, actions = run(state, LockSensed(LockReading.UNLOCKED), rules=OWNER, now=at(0.2))
    [opened] = emitted(actions, "lock.changed")  # the owner's session is no delivery either
    assert (opened.delivery_id, opened.fields["source"]) == (None, "owner")
    assert public_state(state, OWNER)["delivery"] is None  # the owner's session is no delivery
    assert state.deliveries == () and state.owner_hold is not None  # it holds, as the owner

    state, actions = run(state, DoorMoved(True), DoorMoved(False), rules=OWNER, now=at(5))
    assert emitted(actions) == [] and not any(isinstance(a, Capture) for a in actions)
    state, actions = run(state, Tick(), rules=OWNER, now=at(7))
    assert DriveLock(True) in actions
    t = step(state, LockSensed(LockReading.LOCKED), at(7.1), OWNER)
    assert [e.type for e in emitted(flat(t))] == ["owner.relocked"]
    assert [e.delivery_id for e in emitted(flat(t), "lock.changed")] == [None]
    assert t.record.retained == () and t.state.deliveries == () and t.state.owner_hold is None


def test_the_owners_hold_is_recorded_and_a_restart_ends_it_saying_only_the_relock() -> None:
    t = step(checked(State())[0], proof(t=0.1), at(0.1), OWNER)  # the door opens for them
    assert t.record.deliveries == () and t.record.owner_hold == t.state.owner_hold
    state, _ = run(
        t.state, LockSensed(LockReading.UNLOCKED), DoorMoved(True), rules=OWNER, now=at(1)
    )
    _, actions = run(state, Tick(), rules=OWNER, now=at(1 + OWNER.door_open_alarm_s))
    [alarm] = emitted(actions, "alarm.door_left_open")  # the alarm is an alarm, for anyone
    assert alarm.delivery_id is None and not any(isinstance(a, Capture) for a in actions)
    after = resume(replace(state, door_open=False), at(2), OWNER)
    assert after.state.owner_hold is None and after.record.owner_hold is None
    assert after.record.events == ()  # no delivery to finish: the homeowner's hold just ends
    relocked = step(after.state, LockSensed(LockReading.LOCKED), at(2.1), OWNER)
    assert [(e.type, e.delivery_id, e.fields["source"]) for e in relocked.record.events] == [
        ("lock.changed", None, "startup")
    ]


def test_an_owner_who_does_not_open_the_door_is_relocked_after_the_timeout() -> None:
    state = run(
        checked(State())[0],
        proof(t=0.1),
        LockSensed(LockReading.UNLOCKED),
        rules=OWNER,
        now=at(0.1),
    )[0]
    state, actions = run(state, Tick(), rules=OWNER, now=at(30.2))
    assert DriveLock(True) in actions
    _, actions = run(state, LockSensed(LockReading.LOCKED), rules=OWNER, now=at(30.3))
    assert [e.type for e in emitted(actions)] == ["owner.relocked"]


def test_five_wrong_codes_in_ten_minutes_lock_owner_unlock_out_for_fifteen() -> None:
    state = State()
    for n in range(5):
        state, actions = checked(state, ok=False, t=n * 60)
        assert rejections(actions) == ["bad_code"]
    assert state.settings.locked_out_until == at(240).wall + 900
    t = step(state, OwnerUnlock("123456"), at(300), OWNER)
    assert rejections(flat(t)) == ["locked_out"] and not t.actions  # not even checked
    state, actions = checked(state, ok=True, t=240 + 901)
    assert [a for a in actions if isinstance(a, ProveCamera)]
    assert state.settings.wrong_codes == ()


def test_a_wall_clock_stepped_forward_does_not_end_the_lockout() -> None:
    # The lockout ran on the wall clock alone: a jump of an hour ended it at once.
    state = State()
    for n in range(5):
        state = checked(state, ok=False, t=n)[0]
    jumped = Now(wall=at(10).wall + 3600, mono=at(10).mono)
    t = step(state, OwnerUnlock("123456"), jumped, OWNER)
    assert rejections(flat(t)) == ["locked_out"]
    later = Now(wall=at(4 + 901).wall + 3600, mono=at(4 + 901).mono)
    assert rejections(flat(step(state, OwnerUnlock("123456"), later, OWNER))) == []


def test_a_lockout_goes_on_after_a_restart_whatever_the_new_monotonic_clock() -> None:
    state = State()
    for n in range(5):
        state = checked(state, ok=False, t=n)[0]
    restarted = State(settings=state.settings)  # the settings are what a restart keeps
    boot = Now(wall=at(100).wall, mono=5.0)  # a new boot: the monotonic clock starts again
    state = resume(restarted, boot, OWNER).state
    jumped = Now(wall=boot.wall + 3600, mono=boot.mono + 10)
    assert rejections(flat(step(state, OwnerUnlock("123456"), jumped, OWNER))) == ["locked_out"]


def test_wrong_codes_older_than_ten_minutes_do_not_count() -> None:
    state = State()
    for n in range(4):
        state = checked(state, ok=False, t=n * 60)[0]
    state, actions = checked(state, ok=False, t=700)  # the first two are older than 10 min
    assert rejections(actions) == ["bad_code"] and state.settings.locked_out_until is None
    assert len(state.settings.wrong_codes) == 3


def test_a_code_that_is_not_digits_is_a_wrong_code() -> None:
    t = step(State(), OwnerUnlock("None"), at(0), OWNER)  # Home Assistant with no code typed
    assert rejections(flat(t)) == ["bad_code"] and t.record.settings is not None
    assert t.record.settings.wrong_codes == (at(0).wall,)


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda: unlocked_for(OWNER), "busy"),
        (lambda: replace(State(), lock=LockReading.JAMMED), "lock_fault"),
    ],
    ids=["a delivery holds the door", "the lock is jammed"],
)
def test_owner_unlock_refusals_after_the_code(make, reason: str) -> None:
    state, actions = checked(make())
    if reason == "lock_fault":
        state, actions = run(state, proof(t=0.1), rules=OWNER, now=at(0.1))
    assert rejections(actions) == [reason] and DriveLock(False) not in actions


def test_owner_unlock_needs_the_camera_too() -> None:
    state, _ = checked(State())
    _, actions = run(
        state, FrameProof(1, None, frame_at(-1, 3), "no frames"), rules=OWNER, now=at(0.1)
    )
    assert rejections(actions) == ["camera_unavailable"] and DriveLock(False) not in actions
    assert emitted(actions)[0].fields["cmd"] == "owner/lock"


def test_a_courier_is_busy_while_the_owner_holds_the_door() -> None:
    state = run(checked(State())[0], proof(t=0.1), rules=OWNER, now=at(0.1))[0]
    state = run(state, grant(mode="in_home"), rules=OWNER, now=at(1))[0]
    assert rejections(run(state, command("at_door"), rules=OWNER, now=at(1))[1]) == ["busy"]


def unlocked_for(rules: Rules) -> State:
    return run(
        State(),
        grant(mode="in_home"),
        command("at_door"),
        proof(),
        LockSensed(LockReading.UNLOCKED),
        rules=rules,
    )[0]


@settings(max_examples=500, deadline=None)
@given(
    name=st.sampled_from(["lock", "in_home", "snapshot"]) | st.text(max_size=20),
    payload=st.binary(max_size=200)
    | st.builds(
        lambda body: json.dumps(body).encode(),
        st.dictionaries(
            st.sampled_from(["action", "code", "x"]),
            st.none() | st.text(max_size=14) | st.integers(),
            max_size=3,
        ),
    ),
)
def test_any_owner_message_is_parsed_or_refused_never_raised(name: str, payload: bytes) -> None:
    parse_owner(name, payload)


def test_an_owner_command_that_is_not_live_is_stale_whatever_it_says() -> None:
    for name, payload in (
        ("lock", b'{"action": "UNLOCK", "code": "123456"}'),
        ("in_home", b"ON"),
        ("lock", b"LOCK"),
        ("snapshot", b"PRESS"),
    ):
        assert parse_owner(name, payload, live=False) == OwnerRejected(
            Rejection(f"owner/{name}", Reason.STALE)
        )
