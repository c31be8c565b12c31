"""A flood of rejections is coalesced: the first few per reason per minute are said, the rest
counted and summed up in one `command.rejected` when the minute is over."""

from __future__ import annotations

from edge.domain.machine import next_wake, step
from edge.domain.model import PassRejected, Rules, State, Tick
from edge.domain.passes import Reason, Rejection
from edge.domain.rejections import SAID_PER_WINDOW, WINDOW_S
from tests.unit.helpers import at, command, emitted, flat, grant, run


def junk(cmd: str = "junk", reason: str = "unknown_command") -> PassRejected:
    return PassRejected(Rejection(cmd, Reason(reason)))


def flood(state: State, count: int, t: float, **kind: str):
    actions: list = []
    for _ in range(count):
        t_ = step(state, junk(**kind), at(t), Rules())
        state = t_.state
        actions += flat(t_)
    return state, actions


def test_a_flood_of_one_reason_says_five_then_counts() -> None:
    state, actions = flood(State(), 10_000, t=1)
    assert len(emitted(actions, "command.rejected")) == SAID_PER_WINDOW == 5
    assert next_wake(state, at(1)) == WINDOW_S  # the summary is owed at the end of the minute
    state, actions = run(state, Tick(), now=at(1 + WINDOW_S))
    assert [e.fields for e in emitted(actions)] == [
        {
            "cmd": "junk",
            "reason": "unknown_command",
            "jti": None,
            "suppressed": 10_000 - 5,
            "window_s": WINDOW_S,
        }
    ]
    assert state.rejection_windows == () and next_wake(state, at(1 + WINDOW_S)) is None


def test_each_reason_has_its_own_window() -> None:
    state, first = flood(State(), 20, t=0)
    state, second = flood(state, 20, t=1, cmd="done", reason="bad_signature")
    assert len(emitted(first)) == len(emitted(second)) == 5
    assert {e.fields["reason"] for e in emitted(second)} == {"bad_signature"}


def test_a_rejection_after_the_minute_first_settles_the_old_count() -> None:
    state, _ = flood(State(), 7, t=0)
    state, actions = flood(state, 1, t=WINDOW_S + 5)  # no Tick came in between
    summary, fresh = emitted(actions)
    assert summary.fields["suppressed"] == 2 and fresh.fields.get("suppressed") is None


def test_a_quiet_minute_owes_nothing() -> None:
    state, actions = flood(State(), 3, t=0)
    assert len(emitted(actions)) == 3 and next_wake(state, at(0)) is None
    state, actions = run(state, Tick(), now=at(WINDOW_S))
    assert emitted(actions) == [] and state.rejection_windows == ()


def test_a_delivery_is_not_held_up_by_a_storm() -> None:
    state, _ = flood(State(), 50_000, t=0)
    state, actions = run(state, grant(), now=at(1))
    assert [e.type for e in emitted(actions)] == ["delivery.arriving"]


def test_every_refusal_of_a_signed_pass_is_answered_at_once_with_its_jti() -> None:
    # Twenty mixed bad passes in a row used to leave six of them unanswered.
    state, _ = flood(State(), 100, t=0, reason="malformed")  # junk first: its window is full
    answered = []
    for n, reason in enumerate(["malformed", "wrong_device", "expired", "malformed"] * 5):
        state, actions = run(
            state,
            PassRejected(Rejection("at_door", Reason(reason), f"j-{n}"), signed=True),
            now=at(1),
        )
        answered += [e.fields["jti"] for e in emitted(actions, "command.rejected")]
    assert answered == [f"j-{n}" for n in range(20)]
    state, actions = run(state, command("at_door", delivery_id="nobody"), now=at(1))
    assert [e.fields["reason"] for e in emitted(actions)] == ["unknown_delivery"]
