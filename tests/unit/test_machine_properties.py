"""Random sequences of passes (replays included), door moves, camera faults, frozen and stale
frames, jams, clock jumps and restarts, against a small model of the world that delivers every
Tick on time, as the core loop does. The lock's safety properties hold after every step."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.contract.events import render_event
from edge.contract.schemas import Contract
from edge.domain import signals
from edge.domain.camera import NS, FrameStamp, not_advanced
from edge.domain.machine import next_wake, resume, step
from edge.domain.machine.common import find_hold, holder, holds
from edge.domain.machine.lifecycle import COMPLETED, TRANSITIONS
from edge.domain.machine.view import public_state
from edge.domain.model import (
    Action,
    CameraHealth,
    Capture,
    CodeChecked,
    ConsumeJti,
    DoorbellPressed,
    DoorMoved,
    DriveLock,
    Emit,
    FrameProof,
    Indicate,
    Input,
    Led,
    LockReading,
    LockSensed,
    Now,
    PassRejected,
    PassVerified,
    Phase,
    PhotoFailed,
    PhotoTaken,
    ProveCamera,
    RecordFailed,
    Rules,
    Sound,
    State,
    Tick,
    Tune,
)
from edge.domain.owner import OwnerInHome, OwnerLock, OwnerUnlock
from edge.domain.passes import Courier, Pass, Reason, Rejection
from tests.unit.helpers import flat

CONTRACT = Contract()

RULES = Rules(
    in_home_enabled=True,
    unlock_timeout_s=30,
    door_open_alarm_s=60,
    relock_delay_s=2,
    lock_verify_s=3,
    open_photo_interval_s=5,
    owner_unlock=True,
)
IDS = ("D-1", "D-2")
EPSILON = 1e-6

passes = st.tuples(
    st.just("pass"),
    st.sampled_from(("arriving", "at_door", "done", "cancel")),
    st.sampled_from(IDS),
    st.sampled_from(("in_home", "in_home", "doorstep")),
    st.integers(1, 7200),
)
answers = st.tuples(
    st.just("answer"), st.sampled_from(("frame", "frame", "stale", "stuck_counter", "none"))
)
moves = st.one_of(
    passes,
    passes,
    passes,
    st.tuples(st.just("replay")),
    st.tuples(st.just("photo"), st.booleans()),
    st.tuples(st.just("doorbell")),
    st.tuples(st.just("door"), st.booleans()),
    st.tuples(st.just("door"), st.booleans()),
    st.tuples(st.just("camera"), st.booleans()),
    st.tuples(st.just("freeze"), st.booleans()),
    answers,
    answers,
    st.tuples(st.just("jam"), st.booleans()),
    st.tuples(st.just("wait"), st.sampled_from((0.5, 1, 2, 2.5, 3, 5, 29, 31, 61, 300))),
    st.tuples(st.just("wait"), st.floats(0, 120)),
    st.tuples(st.just("jump"), st.floats(-86400, 86400)),
    st.tuples(st.just("restart")),
    st.tuples(st.just("disk"), st.booleans()),  # the card fails: no record can be written
    st.tuples(st.just("owner_lock")),
    st.tuples(st.just("owner_in_home"), st.booleans()),
    st.tuples(st.just("owner_unlock"), st.booleans()),  # with the right code, or a wrong one
)
# Most scripts start where the interesting cases are: the camera asked to prove itself for an
# unlock (perhaps frozen), the door unlocked for a courier, and perhaps a second in-home grant
# waiting for the door.
ASKED = [("pass", "arriving", "D-1", "in_home", 3600), ("pass", "at_door", "D-1", "", 60)]
UNLOCKED = ASKED + [("answer", "frame")]
SECOND = [("pass", "arriving", "D-2", "in_home", 3600)]
starts = st.sampled_from(
    ([], ASKED, [("freeze", True)] + ASKED, UNLOCKED, UNLOCKED + SECOND, ASKED + SECOND)
)
scripts = st.tuples(starts, st.lists(moves, max_size=50)).map(lambda pair: pair[0] + pair[1])


@dataclass
class World:
    """The door, the relay and its bolt sensor, the clocks, and the durable jti store."""

    wall: float = 1_800_000_000.0
    mono: float = 1000.0
    door_open: bool = False
    relay_locked: bool = True
    jammed: bool = False
    consumed: set[str] = field(default_factory=set)
    passes: list[Pass] = field(default_factory=list)
    unlocks_by_jti: dict[str, int] = field(default_factory=dict)
    unlocks_by_grant: dict[str, int] = field(default_factory=dict)  # delivery id -> unlocks
    unlocked_at: float | None = None  # mono time the relay was last driven unlocked
    opened_since_unlock: bool = False
    closed_at: float | None = None
    frozen: bool = False  # the camera repeats its last frame
    disk_failing: bool = False
    last_frame: FrameStamp = FrameStamp(0, 0)
    asked: dict[int, tuple[ProveCamera, Pass | None]] = field(
        default_factory=dict
    )  # proof requests
    waiting: list[int] = field(default_factory=list)  # requests the camera has not answered
    shown: Indicate = Indicate(Led.OFF, door_alarm=False)  # what the LED and buzzer do

    def answer(self, kind: str) -> FrameProof | None:
        """The camera's answer to the oldest open request: a new frame (a frozen camera
        repeats its last), one with an old sensor time, or no frame at all."""
        if not self.waiting:
            return None
        proof_id, previous = self.waiting.pop(0), self.last_frame
        if kind == "none":
            return FrameProof(proof_id, None, previous, "no frame")
        if kind == "stuck_counter":  # a fresh sensor time, but the frame counter did not move
            return FrameProof(
                proof_id, FrameStamp(previous.sequence, int(self.mono * NS) + 1), previous
            )
        if kind == "stale":  # a new frame number on a picture taken just before the pass
            before = int(self.asked[proof_id][0].not_before * NS) - 1
            return FrameProof(proof_id, FrameStamp(previous.sequence + 1, before), previous)
        if not self.frozen:
            self.last_frame = FrameStamp(previous.sequence + 1, int(self.mono * NS) + 1)
        return FrameProof(proof_id, self.last_frame, previous)

    @property
    def now(self) -> Now:
        return Now(self.wall, self.mono)

    def sensor(self) -> LockReading:
        locked = self.relay_locked and not self.jammed
        return LockReading.LOCKED if locked else LockReading.UNLOCKED


def declared_moves(before: State, after: State) -> None:
    """Every phase a delivery (or the owner's hold) moves to is an edge of the lifecycle table:
    the table, and the diagram drawn from it, say all the ways the door's holder can go."""
    for hold in holds(before):
        now_at = find_hold(after, hold)
        landed = COMPLETED if now_at is None else now_at.phase
        allowed = {to for edge in TRANSITIONS[hold.phase].values() for to in edge.to}
        assert landed == hold.phase or landed in allowed, f"{hold.phase} -> {landed}, undeclared"


@settings(max_examples=500, deadline=None)
@given(scripts)
def test_the_lock_is_only_ever_opened_by_a_pass_and_always_closes_again(script) -> None:  # noqa: C901 - one model, every input kind, every invariant checked after each step
    world, state, jtis = World(), State(), itertools.count()
    captures: list = []

    def apply(state: State, event: Input, accepted: Pass | None = None) -> State:
        t = step(state, event, world.now, RULES)
        if world.disk_failing and t.record:  # as the core does: the machine decides again
            t = step(state, RecordFailed(event, "disk"), world.now, RULES)
            assert t.lock != DriveLock(False), "an unlock whose pass could not be recorded"
        declared_moves(state, t.state)
        state, actions = t.state, flat(t)
        check_actions(actions, event)
        return carry_out(state, actions)

    def check_actions(actions: list[Any], event: Input) -> None:
        for ask in (a for a in actions if isinstance(a, ProveCamera)):
            # Asked for an accepted at_door, or for the owner once the code checked out.
            owner = isinstance(event, CodeChecked) and event.ok
            assert owner or isinstance(event, PassVerified) and event.pass_.cmd == "at_door"
            assert ask.not_before == world.mono, "the frame must come after the request"
            world.asked[ask.proof_id] = (
                ask,
                event.pass_ if isinstance(event, PassVerified) else None,
            )
            world.waiting.append(ask.proof_id)
        unlocks = [a for a in actions if a == DriveLock(False)]
        if unlocks:
            # Never unlock unwatched: only the camera's answer to a request made for an
            # accepted at_door opens the door, with a frame captured after that pass was
            # admitted, newer than the frame before it, in time; the jti is consumed first.
            assert isinstance(event, FrameProof), "only a fresh-frame proof unlocks"
            ask, p = world.asked[event.proof_id]
            assert event.frame is not None and event.frame.sensor_ns >= ask.not_before * NS
            assert not_advanced(event.previous, event.frame) is None
            assert world.mono <= ask.not_before + RULES.camera_proof_s
            assert len(unlocks) == 1
            if p is None:  # the owner's: no pass to use up, and never while a delivery holds
                assert not any(isinstance(a, ConsumeJti) for a in actions)
                return
            assert actions[0] == ConsumeJti(p.jti, p.exp)
            world.unlocks_by_jti[p.jti] = world.unlocks_by_jti.get(p.jti, 0) + 1
            assert world.unlocks_by_jti[p.jti] == 1, "never two unlocks per pass"
            world.unlocks_by_grant[p.delivery_id] = world.unlocks_by_grant.get(p.delivery_id, 0) + 1
            assert world.unlocks_by_grant[p.delivery_id] == 1, "one unlock per delivery grant"
        arrivals = (a for a in actions if isinstance(a, Emit) and a.type == "delivery.arriving")
        for arriving in arrivals:
            assert arriving.delivery_id is not None
            world.unlocks_by_grant[arriving.delivery_id] = 0
        for emit in (a for a in actions if isinstance(a, Emit)):  # as the wire will carry it
            CONTRACT.check("event", json.loads(render_event(emit, 1, "porch-1", world.wall)))
        rejected = [a for a in actions if isinstance(a, Emit) and a.type == "command.rejected"]
        refused = [
            e for e in rejected if e.fields["cmd"] == "at_door" and "suppressed" not in e.fields
        ]
        assert actions.count(Sound(Tune.REFUSED)) == len(refused), "each refusal is heard"
        if rejected and isinstance(event, PassVerified):
            signalled = [a for a in actions if not isinstance(a, (Sound, Indicate))]
            assert signalled == rejected, "a rejected pass has no other effect"
        if rejected:
            assert not any(a == DriveLock(False) or isinstance(a, ConsumeJti) for a in actions)

    def carry_out(state: State, actions: list[Action]) -> State:
        for action in actions:
            if isinstance(action, ConsumeJti) and not world.disk_failing:
                world.consumed.add(action.jti)
            elif isinstance(action, DriveLock):
                if not action.locked and world.relay_locked:
                    world.unlocked_at, world.opened_since_unlock, world.closed_at = (
                        world.mono,
                        False,
                        None,
                    )
                world.relay_locked = action.locked
                state = apply(state, LockSensed(world.sensor()))
            elif isinstance(action, Capture):
                captures.append(action.request)
            elif isinstance(action, Indicate):
                world.shown = action
        return state

    def advance(seconds: float, state: State) -> State:
        """Let time pass, waking at every deadline the way the core loop does."""
        end = world.mono + seconds
        while True:
            wake = next_wake(state, world.now)
            if wake is None or world.mono + wake > end:
                break
            world.mono += wake
            world.wall += wake
            state = apply(state, Tick())
            after = next_wake(state, world.now)
            assert after is None or after > 0, "a due deadline was not handled"
        world.wall += end - world.mono
        world.mono = end
        return state

    for move in script:
        kind = move[0]
        if kind == "pass":
            _, cmd, delivery_id, mode, lifetime = move
            p = Pass(
                cmd=cmd,
                jti=f"j{next(jtis)}",
                iss="c",
                delivery_id=delivery_id,
                iat=world.wall,
                exp=world.wall + lifetime,
                mode=mode if cmd == "arriving" else None,
                courier=Courier("c", "n") if cmd == "arriving" else None,
            )
            world.passes.append(p)
            state = apply(state, PassVerified(p))
        elif kind == "replay" and world.passes:
            old = world.passes[len(world.passes) // 2]
            event = (
                PassRejected(Rejection(old.cmd, Reason.REPLAYED, old.jti))
                if old.jti in world.consumed
                else PassVerified(old)
            )
            state = apply(state, event)
        elif kind == "photo" and captures:
            request = captures.pop(0)
            state = apply(
                state,
                PhotoTaken(request, f"p{next(jtis)}", "0" * 64, 1, "2027-01-15T08:00:00.000Z")
                if move[1]
                else PhotoFailed(request, "camera"),
            )
        elif kind == "doorbell":
            state = apply(state, DoorbellPressed())
        elif kind == "door" and move[1] != world.door_open:
            world.door_open = move[1]
            if move[1]:
                world.opened_since_unlock = True
            else:
                world.closed_at = world.mono
            state = apply(state, DoorMoved(move[1]))
        elif kind == "camera":
            state = apply(state, CameraHealth(move[1]))
        elif kind == "freeze":
            world.frozen = move[1]
        elif kind == "disk":
            world.disk_failing = move[1]
        elif kind == "owner_lock":
            state = apply(state, OwnerLock())
        elif kind == "owner_in_home":
            state = apply(state, OwnerInHome(move[1]))
        elif kind == "owner_unlock":
            state = apply(state, OwnerUnlock("123456"))
            if state.code_check is not None:
                state = apply(state, CodeChecked(state.code_check, move[1]))
        elif kind == "answer":
            answer = world.answer(move[1])
            if answer is not None:
                state = apply(state, answer)
        elif kind == "jam":
            world.jammed = move[1]
            state = apply(state, LockSensed(world.sensor()))
        elif kind == "wait":
            state = advance(move[1], state)
        elif kind == "jump":
            world.wall += move[1]  # the wall clock steps; the monotonic one never does
        elif kind == "restart":
            world.relay_locked = True  # the daemon's first act
            captures.clear()
            world.waiting.clear()
            state = State(
                deliveries=state.deliveries, owner_hold=state.owner_hold, door_open=world.door_open
            )  # what the journal kept
            t = resume(state, world.now, RULES)
            declared_moves(state, t.state)
            state, actions = t.state, flat(t)
            assert not any(a == DriveLock(False) for a in actions)
            state = carry_out(state, actions)
            state = apply(state, LockSensed(world.sensor()))
            assert holder(state) is None, "after a restart nothing holds the door"

        # --- invariants after every move ------------------------------------------------------
        assert world.shown == signals.indicate(state), "the LED and buzzer follow the state"
        assert world.relay_locked == (state.lock_target == "locked")
        if not world.relay_locked:
            assert world.unlocked_at is not None
            if world.door_open:
                pass  # the courier is inside: keep watching, no deadline
            elif world.opened_since_unlock:
                assert world.closed_at is not None
                assert world.mono - world.closed_at <= RULES.relock_delay_s + EPSILON
            else:
                assert world.mono - world.unlocked_at <= RULES.unlock_timeout_s + EPSILON
        holders = [
            d
            for d in state.deliveries
            if d.phase in (Phase.UNLOCKED, Phase.OPEN, Phase.CLOSED, Phase.RELOCKING)
        ]
        assert len(holders) <= 1, "one door holder at a time"
        ids = [d.id for d in state.deliveries]
        assert len(ids) == len(set(ids))
        assert all(
            d.phase is Phase.WAITING or d.due is not None or d.phase is Phase.OPEN
            for d in state.deliveries
        ), "every phase but OPEN has a deadline"
        CONTRACT.check(
            "state",
            {**public_state(state, RULES), "version": "0.1.0", "ts": "2027-01-15T08:00:00.000Z"},
        )
