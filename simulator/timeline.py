"""What happened in a simulated run, from every side: printed as it happens and kept for the
report (the demo and the scenarios both tell their story with it)."""

from __future__ import annotations

import threading
import time
from typing import Any


class Timeline:
    """What happened, from every side; printed as it happens (from two threads, hence the lock)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.steps: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def say(self, who: str, what: str) -> None:
        with self._lock:
            step = {"t": time.monotonic() - self.start, "who": who, "what": what}
            self.steps.append(step)
            print(f"  +{step['t']:6.2f}s  {who:<8} {what}", flush=True)

    def device_event(self, event: dict[str, Any]) -> None:
        skip = {"id", "seq", "ts", "type", "device_id", "delivery_id", "sha256", "captured_at"}
        details = ", ".join(f"{k}={_short(v)}" for k, v in event.items() if k not in skip)
        delivery = f" [{event['delivery_id']}]" if event.get("delivery_id") else ""
        self.say("device", f"#{event['seq']} {event['type']}{delivery} {details}".rstrip())


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return value.get("name") or str(value)
    return str(value)
