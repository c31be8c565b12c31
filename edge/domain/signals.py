"""The signals a courier at the door can see and hear (an optional LED and buzzer), derived
from the state and from the events of a step, so they follow exactly what was recorded: the
LED is on while the door is unlocked and blinks fast while the lock is at fault; the buzzer
beeps twice at an unlock, once long when the relock is verified, three times at a refused
`at_door`, and keeps beeping while a delivery's door is left open."""

from __future__ import annotations

from collections.abc import Iterable

from edge.domain.model import Emit, EventType, Indicate, Led, LockReading, State, Tune

TUNES = {
    EventType.DELIVERY_UNLOCKED: Tune.UNLOCKED,
    EventType.OWNER_UNLOCKED: Tune.UNLOCKED,
    EventType.DELIVERY_LOCKED: Tune.RELOCKED,
    EventType.OWNER_RELOCKED: Tune.RELOCKED,
}


def led(state: State) -> Led:
    if state.lock == LockReading.JAMMED:
        return Led.BLINKING_FAST
    return Led.ON if state.lock == LockReading.UNLOCKED else Led.OFF


def indicate(state: State) -> Indicate:
    owner = state.owner_hold
    door_alarm = state.door_open and (
        any(d.alarmed for d in state.deliveries) or (owner is not None and owner.alarmed)
    )
    return Indicate(led(state), door_alarm)


def tunes(events: Iterable[Emit]) -> list[Tune]:
    found = []
    for emit in events:
        if emit.type in TUNES:
            found.append(TUNES[emit.type])
        elif (
            emit.type is EventType.COMMAND_REJECTED
            and emit.fields.get("cmd") == "at_door"
            and "suppressed" not in emit.fields
        ):  # a summary, later: nobody is waiting
            found.append(Tune.REFUSED)
    return found
