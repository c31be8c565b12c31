"""What the `state` topic shows (docs/protocol.md §4)."""

from __future__ import annotations

from typing import Any

from edge.domain import signals
from edge.domain.machine.common import holder, in_home_enabled
from edge.domain.model import OWNER_SESSION, Delivery, Rules, State


def current_delivery(state: State) -> Delivery | None:
    """The delivery the `state` topic shows: the door's holder, else the latest accepted (the
    owner's own unlock is no delivery)."""
    deliveries = [d for d in state.deliveries if d.id != OWNER_SESSION]
    current = holder(state)
    if current is not None and current.id != OWNER_SESSION:
        return current
    return deliveries[-1] if deliveries else None


def public_state(state: State, rules: Rules) -> dict[str, Any]:
    """The `state` topic body without `version` and `ts` (the core adds them)."""
    current = current_delivery(state)
    return {
        "lock": state.lock,
        "door": "open" if state.door_open else "closed",
        "camera": "ok" if state.camera_ok else "fault",
        "clock": "synced" if state.clock_synced else "unsynced",
        "storage": "fault" if "database" in state.storage_full else (
            "full" if state.storage_full else "ok"),
        "in_home_enabled": in_home_enabled(state, rules),
        "indicator": str(signals.led(state)),
        "delivery": None if current is None
        else {"id": current.id, "mode": current.mode, "phase": str(current.phase)},
    }
