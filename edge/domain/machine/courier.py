"""A courier's verified pass: `arriving` admits a delivery, `at_door`, `done` and `cancel` move
it along its lifecycle (docs/protocol.md §2)."""

from __future__ import annotations

from dataclasses import replace

from edge.domain import policy
from edge.domain.machine import proof
from edge.domain.machine.common import Result, find, in_home_enabled, photo_of, rejected
from edge.domain.machine.gates import unlock_refusal
from edge.domain.machine.lifecycle import NotInPhase, Trigger, fire
from edge.domain.model import (
    Action,
    Capture,
    ConsumeJti,
    Delivery,
    Emit,
    EventType,
    Now,
    Purpose,
    Rules,
    State,
)
from edge.domain.passes import Mode, Pass, Reason, Rejection

COMMANDS = {"done": Trigger.DONE, "cancel": Trigger.CANCEL}


def on_pass(state: State, p: Pass, now: Now, rules: Rules) -> Result:
    def reject(reason: Reason) -> Result:
        return state, [rejected(Rejection(p.cmd, reason, p.jti), p.delivery_id)]

    delivery = find(state, p.delivery_id)
    if p.cmd == "arriving":
        refusal = _grant_refusal(state, p, delivery is not None, rules)
        return reject(refusal) if refusal is not None else _arrive(state, p, rules)
    if delivery is None:
        return reject(Reason.UNKNOWN_DELIVERY)
    consume = ConsumeJti(p.jti, p.exp)
    if p.cmd == "at_door":
        if delivery.mode == Mode.DOORSTEP:
            return state, [consume, Capture(photo_of(delivery, Purpose.AT_DOOR))]
        reason = unlock_refusal(state, delivery, p, now, rules)
        if reason is not None:
            return reject(reason)
        return proof.ask(state, p, now, rules)
    if p.cmd in COMMANDS:
        try:
            state, actions = fire(state, delivery, COMMANDS[p.cmd], now, rules)
        except NotInPhase:
            return reject(Reason.WRONG_STATE)
        return state, [consume, *actions]
    raise ValueError(f"unknown command {p.cmd!r}")


def _grant_refusal(state: State, p: Pass, known: bool, rules: Rules) -> Reason | None:
    if p.mode == Mode.IN_HOME and not in_home_enabled(state, rules):
        return Reason.MODE_NOT_ALLOWED
    refusal = policy.grant_refusal(rules.policy, p)
    if refusal is not None:
        return refusal
    if known:
        return Reason.DUPLICATE_DELIVERY
    if len(state.deliveries) >= rules.max_active_deliveries:  # a flood of valid grants
        return Reason.TOO_MANY_DELIVERIES
    return None


def _arrive(state: State, p: Pass, rules: Rules) -> Result:
    assert p.mode is not None and p.courier is not None  # guaranteed by check_claims
    delivery = Delivery(
        id=p.delivery_id,
        mode=p.mode,
        courier=p.courier,
        confidential=p.confidential,
        expires_at=p.exp,
    )
    state = replace(state, deliveries=(*state.deliveries, delivery))
    fields = {"mode": p.mode, "courier": p.courier.as_dict(), "confidential": p.confidential}
    actions: list[Action] = [
        ConsumeJti(p.jti, p.exp),
        Emit(EventType.DELIVERY_ARRIVING, p.delivery_id, fields),
    ]
    if rules.drop_zone:  # the mat before the courier: what the confirmation photo is held to
        actions.append(Capture(photo_of(delivery, Purpose.REFERENCE)))
    return state, actions
