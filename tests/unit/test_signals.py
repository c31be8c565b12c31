"""What the courier sees and hears at the door, decided in the domain: every pattern of the
LED and the buzzer, from the state and the recorded events, with the fake clock."""

from __future__ import annotations

from edge.domain.machine import step
from edge.domain.machine.view import public_state
from edge.domain.model import (
    DoorMoved,
    Indicate,
    Led,
    LockReading,
    LockSensed,
    PassRejected,
    Rules,
    Sound,
    State,
    Tick,
    Tune,
)
from edge.domain.passes import Reason, Rejection
from tests.unit.helpers import at, command, grant, proof, run

RULES = Rules(
    in_home_enabled=True,
    unlock_timeout_s=30,
    door_open_alarm_s=120,
    relock_delay_s=2,
    lock_verify_s=3,
    open_photo_interval_s=5,
)
QUIET = Indicate(Led.OFF, door_alarm=False)


def go(state: State, *inputs: object, t: float = 0):
    return run(state, *inputs, now=at(t), rules=RULES)


def signals(actions: list[object]) -> list[object]:
    return [a for a in actions if isinstance(a, (Indicate, Sound))]


def unlocked() -> State:
    return go(
        State(),
        grant(mode="in_home"),
        command("at_door"),
        proof(),
        LockSensed(LockReading.UNLOCKED),
    )[0]


def test_an_unlock_beeps_twice_and_lights_the_led_once_the_bolt_moved() -> None:
    asked = go(State(), grant(mode="in_home"), command("at_door"))[0]
    t = step(asked, proof(), at(0), RULES)
    assert t.actions[0] == Sound(Tune.UNLOCKED)  # with delivery.unlocked, after the drive
    t = step(t.state, LockSensed(LockReading.UNLOCKED), at(0.1), RULES)
    assert t.actions == (Indicate(Led.ON, door_alarm=False),)
    assert public_state(t.state, RULES)["indicator"] == "on"


def test_a_verified_relock_puts_the_led_out_with_one_long_beep() -> None:
    state, actions = go(unlocked(), DoorMoved(True), DoorMoved(False), t=5)
    state, actions = go(state, Tick(), t=7)  # relock_delay_s: driven locked
    assert signals(actions) == []  # not yet verified
    state, actions = go(state, LockSensed(LockReading.LOCKED), t=7.1)
    assert signals(actions) == [Sound(Tune.RELOCKED), QUIET]
    assert public_state(state, RULES)["indicator"] == "off"


def test_a_refused_at_door_beeps_three_times_and_a_refused_grant_does_not() -> None:
    state, actions = go(State(), command("at_door", delivery_id="D-unknown"))
    assert signals(actions) == [Sound(Tune.REFUSED)]
    state, actions = go(State(), grant(mode="in_home"), grant(mode="in_home"))  # a duplicate
    assert signals(actions) == []


def test_a_door_left_open_beeps_until_it_closes() -> None:
    state = go(unlocked(), DoorMoved(True), t=5)[0]
    state, actions = go(state, Tick(), t=124.9)
    assert signals(actions) == []
    state, actions = go(state, Tick(), t=125)
    assert signals(actions) == [Indicate(Led.ON, door_alarm=True)]
    state, actions = go(state, DoorMoved(False), t=200)
    assert signals(actions) == [Indicate(Led.ON, door_alarm=False)]


def test_a_lock_that_fails_to_relock_blinks_fast() -> None:
    state = go(unlocked(), DoorMoved(True), DoorMoved(False), t=5)[0]
    state = go(state, Tick(), t=7)[0]
    state, actions = go(state, Tick(), t=10.1)  # lock_verify_s passed, still unlocked: jammed
    assert Indicate(Led.BLINKING_FAST, door_alarm=False) in actions
    assert public_state(state, RULES)["indicator"] == "blinking_fast"
    assert Sound(Tune.RELOCKED) not in actions


def test_only_a_refusal_that_is_said_beeps_never_its_later_summary() -> None:
    state, actions = go(
        State(),
        *(PassRejected(Rejection("at_door", Reason.BAD_SIGNATURE, f"j{n}")) for n in range(8)),
    )
    assert signals(actions).count(Sound(Tune.REFUSED)) == 5  # the rest are counted, not said
    state, actions = go(state, Tick(), t=61)
    [summary] = [a for a in actions if getattr(a, "type", None) == "command.rejected"]
    assert summary.fields["suppressed"] == 3 and signals(actions) == []
