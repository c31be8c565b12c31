"""The declared lifecycle: every phase has its row, a trigger a phase does not list is a typed
error, and the courier hears it as `wrong_state`."""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

import pytest

from edge.domain.machine.common import find_hold
from edge.domain.machine.lifecycle import COMPLETED, TRANSITIONS, NotInPhase, Trigger, fire
from edge.domain.machine.stepping import ROUTES
from edge.domain.model import (
    Delivery,
    Hold,
    Input,
    Now,
    Outcome,
    OwnerHold,
    Phase,
    RecordFailed,
    Rules,
    State,
)
from edge.domain.passes import Courier, Mode


def delivery(phase: Phase) -> Delivery:
    return Delivery(
        "D-1",
        Mode.IN_HOME,
        Courier("c-1", "Sam"),
        confidential=False,
        expires_at=1_000.0,
        phase=phase,
        due=5.0,
    )


def test_every_phase_has_a_row_and_every_edge_leads_somewhere_known() -> None:
    assert set(TRANSITIONS) == set(Phase)
    for edges in TRANSITIONS.values():
        for edge in edges.values():
            assert edge.to and all(to in (*Phase, COMPLETED) for to in edge.to)


@pytest.mark.parametrize(
    "phase, trigger",
    [
        (Phase.CONFIRMING, Trigger.DONE),
        (Phase.RELOCKING, Trigger.DONE),
        (Phase.WAITING, Trigger.DOOR_OPENED),
        (Phase.OPEN, Trigger.LOCK_VERIFIED),
    ],
)
def test_a_trigger_the_table_does_not_list_is_a_typed_error(phase, trigger) -> None:
    d = delivery(phase)
    with pytest.raises(NotInPhase) as caught:
        fire(State(deliveries=(d,)), d, trigger, Now(0.0, 10.0), Rules())
    assert (caught.value.phase, caught.value.trigger) == (phase, trigger)


def test_done_twice_while_the_door_is_open_is_not_in_the_table() -> None:
    d = delivery(Phase.OPEN)
    state, _ = fire(State(deliveries=(d,)), d, Trigger.DONE, Now(0.0, 10.0), Rules())
    [requested] = state.deliveries
    with pytest.raises(NotInPhase):
        fire(state, requested, Trigger.DONE, Now(0.0, 10.0), Rules())


def test_every_input_kind_has_a_route() -> None:
    # A RecordFailed is the step it wraps, decided again: it is routed as that input.
    assert set(get_args(Input)) - {RecordFailed} == set(ROUTES)


EDGES = [(phase, trigger) for phase, edges in TRANSITIONS.items() for trigger in edges]
HOLDING = (Phase.UNLOCKED, Phase.OPEN, Phase.CLOSED, Phase.RELOCKING)


@pytest.mark.parametrize("phase, trigger", EDGES)
@pytest.mark.parametrize("rules", [Rules(), Rules(relock_delay_s=0)], ids=["delay", "no-delay"])
def test_each_edge_lands_where_it_says(phase: Phase, trigger: Trigger, rules: Rules) -> None:
    holders: list[Hold] = [delivery(phase)]
    if phase in HOLDING and trigger not in (Trigger.DONE, Trigger.CANCEL):
        holders.append(OwnerHold(phase=phase, due=5.0))  # the owner says no done or cancel
    for hold in holders:
        for variant in (hold, replace(hold, done_requested=True, outcome=Outcome.DELIVERED)):
            if isinstance(variant, OwnerHold) and variant.done_requested:
                continue
            state = State(
                deliveries=(variant,) if isinstance(variant, Delivery) else (),
                owner_hold=variant if isinstance(variant, OwnerHold) else None,
            )
            try:
                after, _ = fire(state, variant, trigger, Now(0.0, 10.0), rules)
            except NotInPhase:
                assert (phase, trigger) == (Phase.OPEN, Trigger.DONE)  # said twice
                continue
            now_at = find_hold(after, variant)
            landed = COMPLETED if now_at is None else now_at.phase
            assert landed in TRANSITIONS[phase][trigger].to, f"{phase} --{trigger}--> {landed}"
