"""The Pi camera adapter on picamera2's real source (0.3.38, from PyPI): its camera manager
thread, its job queue, ``capture_request(wait=, flush=)``, ``cancel_all_and_flush`` and ``close``
all run as on the Pi. Only libcamera's C binding, kms++'s and the kernel's dma-heap are simulated
(tests/pi/picamera2_stack.py), with an IMX708's modes, a sensor that can hang (a loose ribbon
cable: requests stay queued) and a start that can fail."""

from __future__ import annotations

import pytest

from edge.hardware import CameraError
from edge.hardware.pi_camera import full_view_mode
from tests.pi.camera_rig import (  # noqa: F401 - fixtures
    PICAMERA2_WARNINGS,
    SMALL,
    cameras_fixture,
    pi_camera,
    sensor_fixture,
    within,
)
from tests.pi.picamera2_stack import MODES, SENSOR

pytestmark = PICAMERA2_WARNINGS
IMX708_MODES = [{"size": size, "crop_limits": crop} for size, crop, _ in MODES]


def test_a_photo_and_a_proof_are_numbered_and_timed_by_the_sensor(cameras) -> None:
    camera = pi_camera(cameras, flips=(True, False))
    frame = camera.capture()
    assert frame.image.size == SMALL and frame.image.mode == "RGB"
    assert frame.image.getpixel((0, 0)) == (frame.sequence % 256,) * 3  # the sensor's own frame
    stamp = camera.stamp(after_ns=frame.sensor_ns)
    assert stamp.sequence > frame.sequence and stamp.sensor_ns > frame.sensor_ns


def test_a_hung_camera_times_out_is_flushed_closed_and_opened_afresh(cameras) -> None:
    camera = pi_camera(cameras, capture_timeout_s=0.5)
    camera.stamp()
    SENSOR.hung = True
    with pytest.raises(CameraError, match="no frame within 0.5 s"):
        within(10, camera.stamp)
    assert not SENSOR.acquired()  # closed: the queued job was cancelled, close did not block
    SENSOR.hung = False
    assert within(10, camera.stamp).sequence > 0


def test_frame_numbers_keep_counting_across_a_reopening(cameras) -> None:
    # libcamera's sequence starts again at 0: the proof would say "frame counter stopped"
    # and refuse the next unlock after every camera fault.
    camera = pi_camera(cameras, capture_timeout_s=0.5)
    numbers = [camera.stamp().sequence for _ in range(3)]
    SENSOR.hung = True
    with pytest.raises(CameraError):
        within(10, camera.stamp)
    SENSOR.hung = False
    numbers += [within(10, camera.stamp).sequence for _ in range(2)]
    assert numbers == sorted(set(numbers)) and numbers[3] > numbers[2]


def test_a_camera_that_fails_to_start_is_closed_and_opens_once_it_can(cameras) -> None:
    camera = pi_camera(cameras)
    SENSOR.fail_start = True
    with pytest.raises(CameraError, match="Failed to start camera"):
        camera.stamp()
    assert not SENSOR.acquired()  # else the next opening finds the camera busy
    SENSOR.fail_start = False
    assert camera.stamp().sensor_ns > 0


def test_the_sensor_mode_sees_the_whole_field_and_frame_time_is_capped(cameras) -> None:
    camera = pi_camera(cameras, size=(1280, 720), max_frame_interval_s=0.1)
    camera.capture()
    assert SENSOR.started_with["FrameDurationLimits"] == (33_333, 100_000)
    assert SENSOR.configured_mode == (2304, 1296)  # not the cropped 1536x864
    camera.close()
    pi_camera(cameras, size=(1280, 720), sensor_size=(4608, 2592)).stamp()
    assert SENSOR.configured_mode == (4608, 2592)


@pytest.mark.parametrize(
    "size, mode",
    [
        ((640, 480), (2304, 1296)),
        ((2304, 1296), (2304, 1296)),
        ((4000, 2000), (4608, 2592)),
        ((9000, 9000), (4608, 2592)),
    ],
)
def test_the_full_view_mode_is_the_smallest_that_is_big_enough(size, mode) -> None:
    assert full_view_mode(IMX708_MODES, (4608, 2592), size) == mode
