"""An event as it goes on the wire (docs/protocol.md §5): the machine's Emit plus `id`, `seq`,
`ts` and `device_id`, as compact JSON."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from edge.domain.model import Emit


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def render_event(
    emit: Emit, seq: int, device_id: str, wall: float, event_id: str | None = None
) -> bytes:
    body = {
        "id": event_id or uuid.uuid4().hex,
        "seq": seq,
        "ts": rfc3339(datetime.fromtimestamp(wall, UTC)),
        "type": str(emit.type),
        "device_id": device_id,
        "delivery_id": emit.delivery_id,
        **emit.fields,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def render_retained(fields: dict[str, Any], wall: float) -> bytes:
    """A retained dashboard message (`last_delivery`): its fields and when it was made."""
    body = {**fields, "ts": rfc3339(datetime.fromtimestamp(wall, UTC))}
    return json.dumps(body, separators=(",", ":")).encode()
