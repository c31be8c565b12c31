"""The Pi camera adapter against a stand-in for picamera2 and libcamera (they exist on
Raspberry Pi OS only): the frame's number and sensor time come from the request, a proof asks
for a frame exposed after a moment (`flush`), buffers always go back, and any failure of the
stack is a CameraError that closes the camera for a fresh start."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from PIL import Image

from edge.hardware import CameraError
from edge.hardware.pi_camera import PiCamera


class Request:
    def __init__(self, camera: "Picamera2") -> None:
        self.camera = camera
        self.request = types.SimpleNamespace(sequence=camera.sequence)

    def get_metadata(self) -> dict[str, Any]:
        return {"SensorTimestamp": 1_000 + self.camera.sequence}

    def make_image(self, name: str) -> Image.Image:
        return Image.new("RGB", (64, 48), (10, 20, 30))

    def release(self) -> None:
        self.camera.released += 1


class Picamera2:
    instances: list["Picamera2"] = []

    def __init__(self) -> None:
        self.sequence, self.released, self.flushes, self.closed = 0, 0, [], False
        self.failing = False
        Picamera2.instances.append(self)

    def create_still_configuration(self, **options: Any) -> dict[str, Any]:
        return options

    def configure(self, config: dict[str, Any]) -> None:
        self.config = config

    def start(self) -> None:
        pass

    def capture_request(self, flush: int | None = None) -> Request:
        if self.failing:
            raise RuntimeError("camera timed out")
        self.flushes.append(flush)
        self.sequence += 1
        return Request(self)

    def close(self) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def pi_stack(monkeypatch) -> None:
    Picamera2.instances.clear()
    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=Picamera2))
    monkeypatch.setitem(sys.modules, "libcamera", types.SimpleNamespace(
        Transform=lambda hflip, vflip: ("transform", hflip, vflip)))


def test_a_photo_and_a_proof_are_numbered_and_timed_by_the_sensor() -> None:
    camera = PiCamera(64, 48, flips=(True, False))
    frame = camera.capture()
    assert frame.image.size == (64, 48) and (frame.sequence, frame.sensor_ns) == (1, 1001)
    stamp = camera.stamp(after_ns=5_000)
    assert (stamp.sequence, stamp.sensor_ns) == (2, 1002)
    [pi] = Picamera2.instances
    assert pi.flushes == [None, 5_000] and pi.released == 2
    assert pi.config["transform"] == ("transform", True, False)


def test_a_failing_camera_is_closed_and_opened_again_next_time() -> None:
    camera = PiCamera(64, 48)
    camera.stamp()
    Picamera2.instances[0].failing = True
    with pytest.raises(CameraError, match="picamera2: camera timed out"):
        camera.stamp()
    assert Picamera2.instances[0].closed
    assert camera.capture().sequence == 1 and len(Picamera2.instances) == 2
