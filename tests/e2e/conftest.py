"""`doorstep run` as a subprocess against the session's mosquitto, with a cloud receiver: a
fresh device id per device, so retained topics never leak between tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.device import CloudKeys, DeviceUnderTest, Setup

_ids = itertools.count(1)

NewDevice = Callable[..., DeviceUnderTest]


@pytest.fixture
def new_device(tmp_path: Path, cloud_keys: CloudKeys, mosquitto: Any) -> Iterator[NewDevice]:
    made: list[DeviceUnderTest] = []

    def make(
        extra_config: str = "", start: bool = True, more_keys: str = "", protocol: str = "5"
    ) -> DeviceUnderTest:
        setup = Setup(
            device_id=f"porch-{next(_ids)}",
            extra_config=extra_config,
            more_keys=more_keys,
            protocol=protocol,
        )
        device = DeviceUnderTest(tmp_path / f"device{len(made)}", cloud_keys, mosquitto, setup)
        made.append(device)
        return device.start() if start else device

    yield make
    for device in made:
        device.stop()


@pytest.fixture
def device(new_device: NewDevice) -> DeviceUnderTest:
    return new_device()
