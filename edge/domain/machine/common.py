"""What every part of the machine shares: the handlers' result, finding and replacing a
delivery, a refusal's event, and who holds the door."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from edge.domain.model import (
    HOLDING_PHASES,
    Action,
    CaptureRequest,
    Delivery,
    Emit,
    EventType,
    Purpose,
    Rules,
    State,
)
from edge.domain.passes import Rejection

# A handler's answer: the new state and what it decided, in the order it decided it.
Result = tuple[State, list[Action]]


def rejected(rejection: Rejection, delivery_id: str | None = None, **extra: Any) -> Emit:
    return Emit(EventType.COMMAND_REJECTED, delivery_id,
                {"cmd": rejection.cmd, "reason": rejection.reason, "jti": rejection.jti, **extra})


def find(state: State, delivery_id: str | None) -> Delivery | None:
    return next((d for d in state.deliveries if d.id == delivery_id), None)


def put(state: State, delivery: Delivery) -> State:
    return replace(state, deliveries=tuple(
        delivery if d.id == delivery.id else d for d in state.deliveries))


def photo_of(delivery: Delivery, purpose: Purpose) -> CaptureRequest:
    return CaptureRequest(purpose, delivery.id, delivery.confidential)


def holder(state: State) -> Delivery | None:
    """The in-home delivery that holds the door, from unlock until the lock is verified."""
    return next((d for d in state.deliveries if d.phase in HOLDING_PHASES), None)


def in_home_enabled(state: State, rules: Rules) -> bool:
    """The homeowner's switch (docs/protocol.md §8), else the config's default."""
    return rules.in_home_enabled if state.settings.in_home is None else state.settings.in_home
