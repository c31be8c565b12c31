"""Clips in the machine, with a fake clock: who is let in is filmed from the unlock to the
verified relock, who rings around the press; a delivery's clip is waited for before it
completes, so its receipt can list it; a confidential delivery's clip never leaves."""

from __future__ import annotations

from dataclasses import replace

from edge.domain.machine import step
from edge.domain.model import (
    CaptureRequest,
    CheckCode,
    ClipFailed,
    ClipPurpose,
    ClipRequest,
    ClipTaken,
    CodeChecked,
    DoorbellPressed,
    DoorMoved,
    Film,
    LockReading,
    LockSensed,
    Phase,
    Purpose,
    Rules,
    ShareClip,
    State,
    StopFilm,
    Tick,
)
from edge.domain.owner import OwnerUnlock
from tests.unit.helpers import at, command, emitted, flat, grant, proof, run, taken

RULES = Rules(in_home_enabled=True, relock_delay_s=2, lock_verify_s=3, clips=True, clip_post_s=5)
FILMED = ClipRequest(ClipPurpose.DELIVERY, "D-1")
CONFIRM = CaptureRequest(Purpose.CONFIRMATION, "D-1")


def films(actions: list[object]) -> list[object]:
    return [a for a in actions if isinstance(a, (Film, StopFilm))]


def clip(request: ClipRequest = FILMED, clip_id: str = "c1", gap: float = 0.1) -> ClipTaken:
    return ClipTaken(
        request, clip_id, "cd" * 32, 50_000, "2027-01-15T08:00:00.000Z", 12.5, (3, 128), gap
    )


def relocked(rules: Rules = RULES, confidential: bool = False) -> tuple[State, list[object]]:
    """A delivery let in, the door opened and shut, and the relock verified."""
    state, actions = run(
        State(),
        grant(mode="in_home", confidential=confidential),
        command("at_door"),
        proof(),
        LockSensed(LockReading.UNLOCKED),
        DoorMoved(True),
        DoorMoved(False),
        rules=rules,
    )
    state, more = run(state, Tick(), rules=rules, now=at(3))
    state, last = run(state, LockSensed(LockReading.LOCKED), rules=rules, now=at(3.1))
    return state, actions + more + last


def test_a_delivery_is_filmed_from_its_unlock_to_its_verified_relock() -> None:
    state, actions = relocked()
    request = ClipRequest(ClipPurpose.DELIVERY, "D-1", False)
    assert films(actions) == [Film(request, "D-1"), StopFilm("D-1")]
    film_at = actions.index(Film(request, "D-1"))
    assert any(getattr(a, "locked", None) is False for a in actions[:film_at])  # after unlock


def test_the_delivery_completes_only_once_its_clip_and_photos_are_in() -> None:
    state, _ = relocked()
    [delivery] = state.deliveries
    assert delivery.phase is Phase.CONFIRMING and delivery.clip_pending
    state, actions = run(state, taken(CONFIRM), rules=RULES, now=at(4))
    assert state.deliveries and not emitted(actions, "delivery.completed")  # the clip is due
    state, actions = run(state, clip(), rules=RULES, now=at(8.5))
    types = [e.type for e in emitted(actions)]
    assert types == ["delivery.clip", "delivery.completed"]
    assert ShareClip("c1", "D-1", 50_000) in actions
    assert actions.index(ShareClip("c1", "D-1", 50_000)) < actions.index(emitted(actions)[0])
    completed = emitted(actions, "delivery.completed")[0]
    assert completed.fields["clips"] == ["c1"] and state.deliveries == ()
    [retained] = [a for a in actions if type(a).__name__ == "Retain"]
    assert "clips" not in retained.fields  # last_delivery keeps the fields §8 names


def test_a_clip_that_comes_first_waits_for_the_photos() -> None:
    state, _ = relocked()
    state, actions = run(state, clip(), rules=RULES, now=at(8.5))
    assert [e.type for e in emitted(actions)] == ["delivery.clip"] and state.deliveries
    state, actions = run(state, taken(CONFIRM), rules=RULES, now=at(9))
    assert emitted(actions, "delivery.completed")[0].fields["clips"] == ["c1"]


def test_a_clip_that_never_comes_does_not_hold_the_delivery_nor_fault_the_camera() -> None:
    state, _ = relocked()
    state, _ = run(state, taken(CONFIRM), rules=RULES, now=at(4))
    due = state.deliveries[0].due
    assert due is not None
    state, actions = run(state, Tick(), rules=RULES, now=at(due - at(0).mono + 0.1))
    assert [e.type for e in emitted(actions)] == ["delivery.completed"]
    assert state.camera_ok and "clips" not in emitted(actions)[0].fields


def test_a_failed_clip_completes_the_delivery_without_one() -> None:
    state, _ = relocked()
    state, _ = run(state, taken(CONFIRM), rules=RULES, now=at(4))
    state, actions = run(state, ClipFailed(FILMED, "no frames"), rules=RULES, now=at(9))
    assert [e.type for e in emitted(actions)] == ["delivery.completed"]


def test_a_confidential_deliverys_clip_is_told_but_never_shared() -> None:
    state, _ = relocked(confidential=True)
    secret = ClipRequest(ClipPurpose.DELIVERY, "D-1", True)
    state, actions = run(state, clip(secret), rules=RULES, now=at(8))
    assert not any(isinstance(a, ShareClip) for a in actions)
    assert emitted(actions, "delivery.clip")[0].fields["local_only"] is True


def test_a_clip_with_a_gap_says_the_camera_stopped() -> None:
    state, _ = relocked()
    _, actions = run(state, clip(gap=1.6), rules=RULES, now=at(8))
    told = emitted(actions, "delivery.clip")[0].fields
    assert told["camera_fault"] is True and told["max_gap_s"] == 1.6


def test_without_clips_nothing_is_filmed_or_waited_for() -> None:
    plain = replace(RULES, clips=False)
    state, actions = relocked(plain)
    assert films(actions) == [] and not state.deliveries[0].clip_pending
    state, actions = run(state, taken(CONFIRM), rules=plain, now=at(4))
    assert emitted(actions, "delivery.completed")
    _, actions = run(State(), DoorbellPressed(), rules=plain)
    assert films(actions) == []


def test_a_doorbell_press_is_filmed_around_it() -> None:
    _, actions = run(State(), DoorbellPressed(), rules=RULES)
    assert films(actions) == [Film(ClipRequest(ClipPurpose.DOORBELL, None))]
    request = ClipRequest(ClipPurpose.DOORBELL, None)
    _, actions = run(State(), clip(request), rules=RULES)
    assert [(e.type, e.delivery_id) for e in emitted(actions)] == [("doorbell.clip", None)]
    assert ShareClip("c1", None, 50_000) in actions


def test_the_owners_unlock_is_filmed_and_its_clip_is_the_owners() -> None:
    owner = replace(RULES, owner_unlock=True)
    state, actions = run(State(), OwnerUnlock("123456"), rules=owner)
    [check] = [a for a in actions if isinstance(a, CheckCode)]
    state, actions = run(state, CodeChecked(check.check_id, True), proof(), rules=owner)
    assert films(actions) == [Film(ClipRequest(ClipPurpose.OWNER, None), "owner")]
    state, _ = run(state, LockSensed(LockReading.UNLOCKED), DoorMoved(True), rules=owner)
    state, _ = run(state, DoorMoved(False), rules=owner, now=at(3))
    state, _ = run(state, Tick(), rules=owner, now=at(6))  # relock_delay_s after it closed
    t = step(state, LockSensed(LockReading.LOCKED), at(6.1), owner)
    assert films(flat(t)) == [StopFilm("owner")]
    _, actions = run(t.state, clip(ClipRequest(ClipPurpose.OWNER, None)), rules=owner)
    assert [e.type for e in emitted(actions)] == ["owner.clip"]
