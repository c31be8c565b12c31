"""The Pi camera adapter against a stand-in for picamera2 and libcamera (they exist on Raspberry
Pi OS only), written to picamera2 0.3.38's documented behaviour: `capture_request(wait=s)`
raises TimeoutError when no frame comes in time and leaves its job queued until
`cancel_all_and_flush()`; the request sequence restarts at 0 at every camera start; libcamera
chooses a sensor mode only from what it is given. Still a stand-in: picamera2's own source
with libcamera simulated at its C binding is the better test, not yet written."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from PIL import Image

from edge.hardware import CameraError
from edge.hardware.pi_camera import CameraSetup, PiCamera, full_view_mode

IMX708_MODES = [  # picamera2's sensor_modes on a Camera Module 3
    {"size": (1536, 864), "crop_limits": (768, 432, 3072, 1728)},
    {"size": (2304, 1296), "crop_limits": (0, 0, 4608, 2592)},
    {"size": (4608, 2592), "crop_limits": (0, 0, 4608, 2592)},
]


class Request:
    def __init__(self, camera: Picamera2, sequence: int) -> None:
        self.camera = camera
        self.request = types.SimpleNamespace(sequence=sequence)
        self.sensor_ns = 1_000_000 + 1000 * len(camera.flushes)

    def get_metadata(self) -> dict[str, Any]:
        return {"SensorTimestamp": self.sensor_ns}

    def make_image(self, name: str) -> Image.Image:
        return Image.new("RGB", (64, 48), (10, 20, 30))

    def release(self) -> None:
        self.camera.released += 1


class Picamera2:
    instances: list[Picamera2] = []
    hung = False  # the next camera's frames never come (a loose ribbon cable)
    fail_start = False

    def __init__(self) -> None:
        self.sequence, self.released, self.flushes, self.closed = -1, 0, [], False
        self.queued_jobs, self.waits = 0, []
        self.sensor_resolution = (4608, 2592)
        self.sensor_modes = IMX708_MODES
        Picamera2.instances.append(self)

    def create_still_configuration(self, **options: Any) -> dict[str, Any]:
        return options

    def configure(self, config: dict[str, Any]) -> None:
        self.config = config

    def start(self) -> None:
        if Picamera2.fail_start:
            raise RuntimeError("Failed to start camera: -110")

    def capture_request(self, wait: Any = None, flush: int | None = None) -> Request:
        self.waits.append(wait)
        self.flushes.append(flush)
        if Picamera2.hung:
            self.queued_jobs += 1
            if wait is None or wait is True:
                raise AssertionError("a capture without a deadline would hang here forever")
            raise TimeoutError()  # concurrent.futures' Future.result(timeout)
        self.sequence += 1
        return Request(self, self.sequence)

    def cancel_all_and_flush(self) -> None:
        self.queued_jobs = 0

    def close(self) -> None:
        assert self.queued_jobs == 0, "closing with a job queued blocks on it"
        self.closed = True


@pytest.fixture(autouse=True)
def pi_stack(monkeypatch) -> None:
    Picamera2.instances.clear()
    Picamera2.hung = Picamera2.fail_start = False
    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=Picamera2))
    monkeypatch.setitem(sys.modules, "libcamera", types.SimpleNamespace(
        Transform=lambda hflip, vflip: ("transform", hflip, vflip)))


def test_a_photo_and_a_proof_are_numbered_and_timed_by_the_sensor() -> None:
    camera = PiCamera(CameraSetup((64, 48), flips=(True, False)))
    frame = camera.capture()
    assert frame.image.size == (64, 48) and (frame.sequence, frame.sensor_ns) == (0, 1_001_000)
    stamp = camera.stamp(after_ns=5_000)
    assert (stamp.sequence, stamp.sensor_ns) == (1, 1_002_000)
    [pi] = Picamera2.instances
    assert pi.flushes == [None, 5_000] and pi.released == 2
    assert pi.config["transform"] == ("transform", True, False)
    assert all(isinstance(wait, float) for wait in pi.waits)  # never without a deadline


def test_a_hung_camera_times_out_is_flushed_closed_and_opened_afresh() -> None:
    camera = PiCamera(CameraSetup((64, 48), capture_timeout_s=0.5))
    camera.stamp()
    Picamera2.hung = True
    with pytest.raises(CameraError, match="no frame within 0.5 s"):
        camera.stamp()
    assert Picamera2.instances[0].closed and Picamera2.instances[0].queued_jobs == 0
    Picamera2.hung = False
    assert camera.stamp().sequence > 0 and len(Picamera2.instances) == 2


def test_frame_numbers_keep_counting_across_a_reopening() -> None:
    # libcamera's sequence starts again at 0: the proof would say "frame counter stopped"
    # and refuse the next unlock after every camera fault.
    camera = PiCamera(CameraSetup((64, 48)))
    numbers = [camera.stamp().sequence for _ in range(3)]
    Picamera2.hung = True
    with pytest.raises(CameraError):
        camera.stamp()
    Picamera2.hung = False
    numbers += [camera.stamp().sequence for _ in range(2)]
    assert numbers == sorted(set(numbers)) and numbers[3] > numbers[2]


def test_a_camera_that_fails_to_start_is_closed() -> None:
    Picamera2.fail_start = True
    with pytest.raises(CameraError, match="-110"):
        PiCamera(CameraSetup((64, 48))).stamp()
    assert Picamera2.instances[0].closed


def test_the_sensor_mode_sees_the_whole_field_and_frames_keep_coming() -> None:
    camera = PiCamera(CameraSetup((1280, 720), max_frame_interval_s=0.1))
    camera.stamp()
    config = Picamera2.instances[0].config
    assert config["sensor"] == {"output_size": (2304, 1296)}  # not the cropped 1536x864
    assert config["controls"]["FrameDurationLimits"] == (33_333, 100_000)
    PiCamera(CameraSetup((1280, 720), sensor_size=(4608, 2592))).stamp()
    assert Picamera2.instances[1].config["sensor"] == {"output_size": (4608, 2592)}


@pytest.mark.parametrize("size, mode", [((640, 480), (2304, 1296)), ((2304, 1296), (2304, 1296)),
                                        ((4000, 2000), (4608, 2592)), ((9000, 9000), (4608, 2592))])
def test_the_full_view_mode_is_the_smallest_that_is_big_enough(size, mode) -> None:
    assert full_view_mode(IMX708_MODES, (4608, 2592), size) == mode
