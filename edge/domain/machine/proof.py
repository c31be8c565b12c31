"""The camera proves it is watching before the door opens: a frame captured after the unlock
was admitted. A cached health flag is no proof: a camera that froze a second ago still says ok."""

from __future__ import annotations

from dataclasses import replace

from edge.domain.camera import NS, not_advanced
from edge.domain.machine.common import Result, rejected
from edge.domain.machine.health import on_camera
from edge.domain.model import (
    CameraHealth,
    FrameProof,
    Now,
    PendingUnlock,
    ProveCamera,
    Rules,
    State,
)
from edge.domain.passes import Pass, Reason, Rejection


def ask(state: State, p: Pass | None, now: Now, rules: Rules) -> Result:
    """Every gate allows the unlock (a courier's pass, or the homeowner's when ``p`` is None);
    the camera must now show a frame captured after this moment."""
    proof_id = state.proofs_asked + 1
    pending = PendingUnlock(
        proof_id, p, admitted_at=now.mono, deadline=now.mono + rules.camera_proof_s
    )
    state = replace(state, unlock_pending=pending, proofs_asked=proof_id)
    return state, [ProveCamera(proof_id, not_before=now.mono)]


def unproven(proof: FrameProof, pending: PendingUnlock, now: Now, rules: Rules) -> str | None:
    """Why this proof does not show a live camera, or None when it does."""
    if now.mono > pending.deadline:
        return f"no fresh frame within {rules.camera_proof_s:g} s"
    if proof.frame is None:
        return proof.error or "the camera gave no frame"
    stuck = not_advanced(proof.previous, proof.frame)
    if stuck is not None:
        return stuck
    if proof.frame.sensor_ns < int(pending.admitted_at * NS):
        return "the frame is older than the pass"
    return None


def unwatched(state: State, pending: PendingUnlock, why: str) -> Result:
    """No proof: the door stays locked, the courier hears camera_unavailable, and the camera
    counts as faulty until a probe sees frames flowing again."""
    rejection = rejected(
        Rejection(pending.cmd, Reason.CAMERA_UNAVAILABLE, pending.jti),
        pending.delivery_id,
        detail=why,
    )
    state, alarm = on_camera(state, CameraHealth(False, why))
    return state, [rejection, *alarm]
