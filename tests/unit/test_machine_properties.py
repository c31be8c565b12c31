"""Random sequences of passes, photos, doorbell presses, door moves, camera faults, bolt readings
and clock jumps: the machine's invariants hold after every step."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.domain.machine import next_deadline, public_state, step
from edge.domain.model import (
    CameraHealth, Capture, ConsumeJti, DoorbellPressed, DoorMoved, Emit, LockSensed, PassRejected,
    PassVerified, Phase, PhotoFailed, PhotoTaken, Rules, State, Tick,
)
from edge.domain.passes import Courier, Pass, Rejection

START = 1_800_000_000.0
IDS = ("D-1", "D-2", "D-3")

moves = st.one_of(
    st.tuples(st.just("pass"), st.sampled_from(("arriving", "at_door", "done", "cancel")),
              st.sampled_from(IDS), st.sampled_from(("doorstep", "in_home")), st.booleans(),
              st.integers(1, 7200)),
    st.tuples(st.just("rejected")),
    st.tuples(st.just("photo"), st.booleans()),
    st.tuples(st.just("doorbell")),
    st.tuples(st.just("door"), st.booleans()),
    st.tuples(st.just("camera"), st.booleans()),
    st.tuples(st.just("bolt"), st.sampled_from(("locked", "unlocked"))),
    st.tuples(st.just("time"), st.floats(0, 10_000)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(moves, max_size=60), st.booleans())
def test_invariants_hold_for_any_sequence(script: list[tuple], in_home: bool) -> None:
    rules = Rules(in_home_enabled=in_home)
    state, now, jtis = State(), START, itertools.count()
    pending_captures: list = []
    for move in script:
        kind = move[0]
        if kind == "pass":
            _, cmd, delivery_id, mode, confidential, lifetime = move
            event = PassVerified(Pass(
                cmd=cmd, jti=f"j{next(jtis)}", iss="c", delivery_id=delivery_id, iat=now,
                exp=now + lifetime, mode=mode if cmd == "arriving" else None,
                courier=Courier("c", "n") if cmd == "arriving" else None,
                confidential=confidential))
        elif kind == "rejected":
            event = PassRejected(Rejection("done", "expired", None))
        elif kind == "photo":
            if not pending_captures:
                continue
            request = pending_captures.pop(0)
            event = (PhotoTaken(request, f"p{next(jtis)}", "00", 1, "t") if move[1]
                     else PhotoFailed(request, "camera"))
        elif kind == "doorbell":
            event = DoorbellPressed()
        elif kind == "door":
            event = DoorMoved(move[1])
        elif kind == "camera":
            event = CameraHealth(move[1])
        elif kind == "bolt":
            event = LockSensed(move[1])
        else:
            now += move[1]
            event = Tick()

        active_before = {d.id for d in state.deliveries}
        state, actions = step(state, event, now, rules)
        pending_captures += [a.request for a in actions if isinstance(a, Capture)]

        ids = [d.id for d in state.deliveries]
        assert len(ids) == len(set(ids)), "one active delivery per id"
        assert state.lock in ("locked", "jammed"), "this version never unlocks"
        assert all(d.mode == "doorstep" or rules.in_home_enabled for d in state.deliveries)
        consumes = [a for a in actions if isinstance(a, ConsumeJti)]
        if consumes:
            assert isinstance(event, PassVerified) and actions[0] == consumes[0]
            assert consumes == [ConsumeJti(event.pass_.jti, event.pass_.exp)]
        rejected = [a for a in actions if isinstance(a, Emit) and a.type == "command.rejected"]
        if rejected:
            assert actions == rejected, "a rejected pass has no other effect"
        for done in (a for a in actions if isinstance(a, Emit) and a.type == "delivery.completed"):
            assert done.delivery_id in active_before, "only an active delivery completes"
            assert done.delivery_id not in {d.id for d in state.deliveries}
        due = [d.expires_at if d.phase is Phase.WAITING else d.confirm_by
               for d in state.deliveries]
        assert None not in due, "every active delivery has a deadline: none can hang forever"
        assert next_deadline(state) == min(due, default=None)
        public_state(state, rules)  # always renderable
