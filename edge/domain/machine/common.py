"""What every part of the machine shares: the handlers' result, finding and replacing a
delivery or the owner's hold, a refusal's event, who holds the door, and what a holder says."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from edge.domain.model import (
    HOLDING_PHASES,
    Action,
    Capture,
    CaptureRequest,
    Delivery,
    Emit,
    EventType,
    Hold,
    OwnerHold,
    Purpose,
    Rules,
    State,
)
from edge.domain.passes import Rejection

# A handler's answer: the new state and what it decided, in the order it decided it.
Result = tuple[State, list[Action]]


def rejected(rejection: Rejection, delivery_id: str | None = None, **extra: Any) -> Emit:
    return Emit(
        EventType.COMMAND_REJECTED,
        delivery_id,
        {"cmd": rejection.cmd, "reason": rejection.reason, "jti": rejection.jti, **extra},
    )


def find(state: State, delivery_id: str | None) -> Delivery | None:
    return next((d for d in state.deliveries if d.id == delivery_id), None)


def put(state: State, delivery: Delivery) -> State:
    return replace(
        state, deliveries=tuple(delivery if d.id == delivery.id else d for d in state.deliveries)
    )


def photo_of(delivery: Delivery, purpose: Purpose) -> CaptureRequest:
    return CaptureRequest(purpose, delivery.id, delivery.confidential)


def holder(state: State) -> Hold | None:
    """Who holds the door, from its unlock until the lock is verified: an in-home delivery or
    the homeowner."""
    courier = next((d for d in state.deliveries if d.phase in HOLDING_PHASES), None)
    return courier if courier is not None else state.owner_hold


def holds(state: State) -> tuple[Hold, ...]:
    """Every delivery, and the owner's hold when there is one."""
    return (*state.deliveries, *([state.owner_hold] if state.owner_hold else []))


def hold_id(hold: Hold) -> str | None:
    """The delivery a hold's events name: none for the homeowner's."""
    return None if isinstance(hold, OwnerHold) else hold.id


def find_hold(state: State, hold: Hold) -> Hold | None:
    return state.owner_hold if isinstance(hold, OwnerHold) else find(state, hold.id)


def put_hold(state: State, hold: Hold) -> State:
    return replace(state, owner_hold=hold) if isinstance(hold, OwnerHold) else put(state, hold)


def tell(hold: Hold, courier: EventType, owner: EventType | None = None) -> list[Action]:
    """What a hold says: a delivery its own event; the homeowner the owner's, or nothing."""
    if isinstance(hold, OwnerHold):
        return [] if owner is None else [Emit(owner, None)]
    return [Emit(courier, hold.id)]


def photograph(hold: Hold, purpose: Purpose) -> list[Action]:
    """A delivery's photo; the homeowner's own door takes none."""
    return [] if isinstance(hold, OwnerHold) else [Capture(photo_of(hold, purpose))]


def in_home_enabled(state: State, rules: Rules) -> bool:
    """The homeowner's switch (docs/protocol.md §8), else the config's default."""
    return rules.in_home_enabled if state.settings.in_home is None else state.settings.in_home
