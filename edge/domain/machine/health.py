"""The camera and the storage: a change of health is told once, with the delivery it touches."""

from __future__ import annotations

from dataclasses import replace

from edge.domain.machine.common import Result
from edge.domain.machine.view import current_delivery
from edge.domain.model import CameraHealth, Emit, EventType, State


def on_camera(state: State, health: CameraHealth) -> Result:
    if health.ok == state.camera_ok:
        return state, []
    state = replace(state, camera_ok=health.ok)
    if health.ok:
        return state, []
    current = current_delivery(state)
    said = {
        name: value
        for name, value in (("detail", health.detail), ("frame_age_s", health.frame_age_s))
        if value is not None
    }
    return state, [Emit(EventType.ALARM_CAMERA_FAULT, current.id if current else None, said)]


def on_storage(state: State, area: str, ok: bool) -> Result:
    full = state.storage_full - {area} if ok else state.storage_full | {area}
    if full == state.storage_full:
        return state, []
    state = replace(state, storage_full=full)
    if ok:
        return state, []
    current = current_delivery(state)
    if area == "database":
        return state, [Emit(EventType.ALARM_STORAGE_FAULT, current.id if current else None)]
    return state, [
        Emit(EventType.ALARM_STORAGE_FULL, current.id if current else None, {"area": area})
    ]
