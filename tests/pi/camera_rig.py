"""A Pi camera on picamera2's real source (tests/pi/picamera2_stack.py) for a test: the sensor
reset around each test, every camera closed after it (within a deadline: a close that waits on
a hung job is the defect, not a hang), and ``within`` for any call that might hang."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TypeVar, cast

import pytest

from edge.hardware.pi_camera import CameraSetup, PiCamera
from tests.pi.picamera2_stack import SENSOR, MemfdAllocator

T = TypeVar("T")

PICAMERA2_WARNINGS = [  # picamera2's own, on a machine without dma-heaps or with 3.12's threading
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <function DmaAllocator.__del__"
        ":pytest.PytestUnraisableExceptionWarning"
    ),
    pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning"),
]
SMALL = (320, 240)


@pytest.fixture(name="sensor", autouse=True)
def sensor_fixture() -> Iterator[None]:
    SENSOR.reset()
    yield
    SENSOR.reset()
    assert not SENSOR.acquired(), "a camera was left acquired: the next start would find it busy"


@pytest.fixture(name="cameras")
def cameras_fixture() -> Iterator[list[PiCamera]]:
    made: list[PiCamera] = []
    yield made
    for camera in made:
        within(10, camera.close)  # a close that waits on a hung job is the defect, not a hang


def pi_camera(cameras: list[PiCamera], **setup: object) -> PiCamera:
    camera = PiCamera(
        CameraSetup(**{"size": SMALL, **setup}),  # type: ignore[arg-type]
        allocator=MemfdAllocator,
    )
    cameras.append(camera)
    return camera


def within(seconds: float, work: Callable[[], T]) -> T:
    """``work()``'s result, or a failure if it has not returned within ``seconds`` (a capture
    without a deadline would otherwise hang the suite, which is the defect)."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(_outcome(work)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still waiting after {seconds} s"
    if isinstance(result[0], BaseException):
        raise result[0]
    return cast(T, result[0])


def _outcome(work) -> object:
    try:
        return work()
    except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
        return exc
