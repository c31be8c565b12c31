"""Physical parts behind small Protocols, so the core never knows which backend it drives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edge.domain.camera import FrameStamp
from edge.domain.model import LockReading

DEVICE_TREE = Path("/sys/firmware/devicetree/base")  # the Pi's; /proc/device-tree links here


class CameraError(Exception):
    """The camera produced no frame."""


@dataclass(frozen=True)
class Frame:
    image: Any  # a PIL image, RGB, not yet encoded: the privacy masks are drawn on it first
    sequence: int  # increases with every new frame the sensor delivers; a repeat means frozen
    sensor_ns: int  # when the sensor captured it: monotonic clock, nanoseconds

    @property
    def stamp(self) -> FrameStamp:
        return FrameStamp(self.sequence, self.sensor_ns)


class Lock(Protocol):
    def drive(self, locked: bool) -> None: ...
    def sensed(self) -> LockReading:
        """Locked or unlocked: the sensor's reading, or the relay's state without one."""
        ...


class DoorSensor(Protocol):
    def is_open(self) -> bool: ...


class Camera(Protocol):
    def capture(self, after_ns: int | None = None) -> Frame:
        """A frame, captured no earlier than ``after_ns`` (monotonic ns) when given; raises
        CameraError when the camera gives none."""
        ...

    def stamp(self, after_ns: int | None = None) -> FrameStamp:
        """A frame's number and sensor time (captured no earlier than ``after_ns`` when
        given), without encoding a picture: the idle probe, and the proof an unlock waits for."""
        ...

    def close(self) -> None: ...
