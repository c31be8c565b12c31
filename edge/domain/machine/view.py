"""What the `state` topic shows (docs/protocol.md §4)."""

from __future__ import annotations

from typing import Any

from edge.domain import signals
from edge.domain.machine.common import holder, in_home_enabled
from edge.domain.model import Delivery, Rules, State


def current_delivery(state: State) -> Delivery | None:
    """The delivery the `state` topic shows: the one holding the door, else the latest
    accepted (the homeowner's own unlock is no delivery)."""
    current = holder(state)
    if isinstance(current, Delivery):
        return current
    return state.deliveries[-1] if state.deliveries else None


def public_state(state: State, rules: Rules) -> dict[str, Any]:
    """The `state` topic body without `version` and `ts` (the core adds them)."""
    current = current_delivery(state)
    return {
        "lock": state.lock,
        "door": "open" if state.door_open else "closed",
        "camera": "ok" if state.camera_ok else "fault",
        "clock": "synced" if state.clock_synced else "unsynced",
        "storage": "fault"
        if "database" in state.storage_full
        else ("full" if state.storage_full else "ok"),
        "in_home_enabled": in_home_enabled(state, rules),
        "indicator": str(signals.led(state)),
        "delivery": None
        if current is None
        else {"id": current.id, "mode": current.mode, "phase": str(current.phase)},
    }
