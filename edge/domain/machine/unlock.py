"""The camera's answer to an unlock waiting for it: the door opens for the courier or the
homeowner only on a fresh frame, and only if every gate still allows it."""

from __future__ import annotations

from dataclasses import replace

from edge.domain.machine import proof
from edge.domain.machine.common import Result, find, rejected
from edge.domain.machine.gates import unlock_refusal
from edge.domain.machine.health import on_camera
from edge.domain.machine.homeowner import owner_unlocked
from edge.domain.machine.lifecycle import Trigger, fire
from edge.domain.model import CameraHealth, ConsumeJti, FrameProof, Now, Rules, State
from edge.domain.passes import Reason, Rejection


def on_proof(state: State, answer: FrameProof, now: Now, rules: Rules) -> Result:
    pending = state.unlock_pending
    if pending is None or answer.proof_id != pending.proof_id:
        return state, []  # an answer nobody waits for any more (it came too late)
    state = replace(state, unlock_pending=None)
    why = proof.unproven(answer, pending, now, rules)
    if why is not None:
        return proof.unwatched(state, pending, why)
    state, _ = on_camera(state, CameraHealth(True))  # a fresh frame is better news than a probe
    p = pending.pass_
    if p is None:
        return owner_unlocked(state, now, rules)
    delivery = find(state, p.delivery_id)
    # The world may have changed while the camera answered: every gate is asked again.
    reason = (
        Reason.WRONG_STATE if delivery is None else unlock_refusal(state, delivery, p, now, rules)
    )
    if reason is not None or delivery is None:
        return state, [
            rejected(Rejection(p.cmd, reason or Reason.WRONG_STATE, p.jti), p.delivery_id)
        ]
    state, actions = fire(state, delivery, Trigger.UNLOCK, now, rules)
    return state, [ConsumeJti(p.jti, p.exp), *actions]
