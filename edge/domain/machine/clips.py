"""Video clips: who is let in is filmed from before the unlock until after the relock, and who
rings from before the press until after it. The machine says when a clip starts and ends; the
recorder keeps the frames. A stored clip is queued before the event that announces it, and a
delivery's clip is waited for in `confirming`, so its receipt lists it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from edge.domain.machine.common import Result, find, hold_id, holder, put
from edge.domain.machine.lifecycle import Trigger, fire
from edge.domain.model import (
    MAX_FRAME_GAP_S,
    Action,
    CaptureRequest,
    ClipFailed,
    ClipPurpose,
    ClipRequest,
    ClipTaken,
    Delivery,
    Emit,
    EventType,
    Film,
    Hold,
    Now,
    Phase,
    Rules,
    ShareClip,
    State,
    StopFilm,
)

OWNER_KEY = "owner"  # the homeowner's hold has no delivery id
EVENTS = {
    ClipPurpose.DELIVERY: EventType.DELIVERY_CLIP,
    ClipPurpose.OWNER: EventType.OWNER_CLIP,
    ClipPurpose.DOORBELL: EventType.DOORBELL_CLIP,
}


def _key(hold: Hold) -> str:
    return hold_id(hold) or OWNER_KEY


def filming(before: State, after: State, rules: Rules) -> list[Film | StopFilm]:
    """A hold that began is filmed until it ends: from the unlock to the verified relock."""
    if not rules.clips:
        return []
    was, now_held = holder(before), holder(after)
    was_key = _key(was) if was is not None else None
    now_key = _key(now_held) if now_held is not None else None
    if was_key == now_key:
        return []
    told: list[Film | StopFilm] = []
    if was_key is not None:
        told.append(StopFilm(was_key))
    if now_held is not None and now_key is not None:
        if isinstance(now_held, Delivery):
            request = ClipRequest(ClipPurpose.DELIVERY, now_held.id, now_held.confidential)
        else:
            request = ClipRequest(ClipPurpose.OWNER, None)
        told.append(Film(request, now_key))
    return told


def doorbell(photo: CaptureRequest, rules: Rules) -> list[Action]:
    """A press: filmed `pre_s` before it to `post_s` after, for the same delivery as its photo."""
    if not rules.clips:
        return []
    return [Film(ClipRequest(ClipPurpose.DOORBELL, photo.delivery_id, photo.confidential))]


def on_clip(state: State, event: ClipTaken | ClipFailed, now: Now, rules: Rules) -> Result:
    request = event.request
    actions: list[Action] = []
    if isinstance(event, ClipTaken):
        if not request.confidential:  # a confidential delivery's clip stays on the device
            actions.append(ShareClip(event.clip_id, request.delivery_id, event.size))
        actions.append(Emit(EVENTS[request.purpose], request.delivery_id, _told(event)))
    delivery = find(state, request.delivery_id)
    if delivery is None or request.purpose is not ClipPurpose.DELIVERY:
        return state, actions
    if isinstance(event, ClipTaken):
        delivery = replace(delivery, clips=(*delivery.clips, event.clip_id))
    if delivery.phase is Phase.CONFIRMING and delivery.clip_pending:
        delivery = replace(delivery, clip_pending=False)
        if delivery.pending_photos <= 0:
            state, done = fire(put(state, delivery), delivery, Trigger.CONFIRMED, now, rules)
            return state, actions + done
    return put(state, delivery), actions


def _told(clip: ClipTaken) -> dict[str, Any]:
    return {
        "clip_id": clip.clip_id,
        "sha256": clip.sha256,
        "bytes": clip.size,
        "started_at": clip.started_at,
        "duration_s": clip.duration_s,
        "frames": list(clip.frames),
        "max_gap_s": clip.max_gap_s,
        "camera_fault": clip.max_gap_s > MAX_FRAME_GAP_S,
        "truncated": clip.truncated,
        "purpose": str(clip.request.purpose),
        "local_only": clip.request.confidential,
    }
