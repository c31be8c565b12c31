"""A daemon on a thread of the test, so the test reaches the simulated hardware."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from simulator.device import CloudKeys, DeviceUnderTest, Setup


@contextmanager
def in_process(
    folder: Path, keys: CloudKeys, broker: Any, device_id: str, extra: str = ""
) -> Iterator[DeviceUnderTest]:
    device = DeviceUnderTest(
        folder, keys, broker, Setup(device_id=device_id, extra_config=extra, in_process=True)
    )
    device.start()
    try:
        yield device
    finally:
        device.stop()
