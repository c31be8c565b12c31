"""Builders for domain tests: passes, a fake two-clock time, and ways to read actions."""

from __future__ import annotations

from typing import Any

from edge.domain.camera import NS, FrameStamp
from edge.domain.machine import step
from edge.domain.model import (
    CaptureRequest,
    Emit,
    FrameProof,
    Now,
    PassVerified,
    PhotoTaken,
    Rules,
    State,
    Transition,
)
from edge.domain.passes import Courier, Mode, Pass, Signer

NOW = 1_800_000_000.0
RULES = Rules()


def at(seconds: float) -> Now:
    """The fake clock, ``seconds`` after the start of a test (both clocks move together)."""
    return Now(wall=NOW + seconds, mono=1000.0 + seconds)


COURIER = Courier("c1", "Sam")


ANY_SIGNER = Signer()  # a trusted key that may grant every mode


def grant(
    delivery_id: str = "D-1",
    jti: str = "g-1",
    mode: str = "doorstep",
    confidential: bool = False,
    exp: float = NOW + 3600,
    courier: Courier = COURIER,
    signer: Signer = ANY_SIGNER,
) -> PassVerified:
    return PassVerified(
        Pass(
            cmd="arriving",
            jti=jti,
            iss="cloud",
            delivery_id=delivery_id,
            iat=NOW,
            exp=exp,
            mode=Mode(mode),
            courier=courier,
            confidential=confidential,
            signer=signer,
        )
    )


def command(
    cmd: str, delivery_id: str = "D-1", jti: str | None = None, signer: Signer = ANY_SIGNER
) -> PassVerified:
    return PassVerified(
        Pass(
            cmd=cmd,
            jti=jti or f"{cmd}-1",
            iss="cloud",
            delivery_id=delivery_id,
            iat=NOW,
            exp=NOW + 60,
            signer=signer,
        )
    )


def flat(t: Transition) -> list[Any]:
    """A transition as the list of what it does, in the order the core carries it out
    (a relock first in fact: the relay before the disk)."""
    record = t.record
    return [
        *([record.consume] if record.consume else []),
        *([t.lock] if t.lock else []),
        *record.photos,
        *record.clips,
        *record.events,
        *record.retained,
        *t.actions,
    ]


START = at(0)


def run(state: State, *inputs: object, now: Now = START, rules: Rules = RULES):
    actions: list[object] = []
    for event in inputs:
        t = step(state, event, now, rules)  # type: ignore[arg-type]
        state = t.state
        actions += flat(t)
    return state, actions


def emitted(actions: list[object], type_: str | None = None) -> list[Emit]:
    """The events among ``actions``: of ``type_``, or all but `lock.changed` (the audit trail
    of the lock's readings, which its own tests ask for by name)."""
    return [
        a
        for a in actions
        if isinstance(a, Emit)
        and (a.type == type_ if type_ is not None else a.type != "lock.changed")
    ]


def rejections(actions: list[object]) -> list[str]:
    return [e.fields["reason"] for e in emitted(actions, "command.rejected")]


def taken(request: CaptureRequest, photo_id: str = "p1") -> PhotoTaken:
    return PhotoTaken(
        request, photo_id, "ab" * 32, 1234, "2027-01-15T08:00:00.000Z", FrameStamp(7, 7_000)
    )


def active() -> State:
    return run(State(), grant())[0]


def frame_at(seconds: float, sequence: int) -> FrameStamp:
    """A frame the sensor captured ``seconds`` after the start of a test (monotonic clock)."""
    return FrameStamp(sequence, int(at(seconds).mono * NS))


def proof(proof_id: int = 1, t: float = 0.0) -> FrameProof:
    """A live camera's answer: a new frame at ``t``, one after the frame seen 0.2 s before."""
    return FrameProof(proof_id, frame_at(t, 11 + proof_id), frame_at(t - 0.2, 10 + proof_id))
