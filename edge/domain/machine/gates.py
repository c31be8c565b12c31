"""Whether the door may open for an in-home delivery now (docs/protocol.md §2 and §11)."""

from __future__ import annotations

from edge.domain import policy
from edge.domain.machine.common import holder, in_home_enabled
from edge.domain.model import Delivery, LockReading, Now, OwnerHold, Phase, Rules, State
from edge.domain.passes import Pass, Reason


def unlock_refusal(
    state: State, delivery: Delivery, p: Pass, now: Now, rules: Rules
) -> Reason | None:
    """Why the door must not open for this in-home delivery now, in the protocol's order. An
    unlock waiting for its camera proof already claims the door.

    The camera gate is a fresh-frame proof, asked for once every other gate passes. While the
    camera is believed faulty, the gates after it wait for that proof, so a refusal still names
    the first gate that fails, and a camera that has recovered is not blamed."""
    if not in_home_enabled(state, rules):
        return Reason.MODE_NOT_ALLOWED  # the homeowner opted out after the grant was accepted
    ruled_out = policy.unlock_refusal(rules.policy, delivery.courier.id, p.signer, now.wall)
    if ruled_out is not None:
        return ruled_out
    current = holder(state)
    pending = state.unlock_pending
    if current is not None and (isinstance(current, OwnerHold) or current.id != delivery.id):
        return Reason.BUSY  # someone else holds the door
    if current is None and pending is not None and pending.delivery_id != delivery.id:
        return Reason.BUSY  # someone else's unlock waits for its camera proof
    if not state.camera_ok:
        return None  # its proof decides next: camera_unavailable, or the gates below
    if delivery.phase is not Phase.WAITING or pending is not None:
        return Reason.WRONG_STATE
    if state.lock == LockReading.JAMMED:
        return Reason.LOCK_FAULT  # a lock that failed to relock is not opened again
    if state.door_open:  # nothing to unlock for; the relock and its proof would be no proof
        return Reason.DOOR_OPEN
    return None
