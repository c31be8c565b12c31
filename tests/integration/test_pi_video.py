"""The Pi's clips from picamera2's own encoder path (0.3.38, from PyPI): the lores stream beside
the photos', ``pre_callback`` burning the masks in, ``start_encoder``/``stop_encoder``, its
Output and its encoders. This machine has no /dev/video11, so the Pi 4's H264Encoder fails to
open as it would on a Pi without the codec, and picamera2's LibavH264Encoder (libx264) encodes:
the fallback a Pi 5 takes. Only libcamera's binding and the dma-heap are simulated
(tests/pi/picamera2_stack.py); the sensor's scene is mid-grey."""

from __future__ import annotations

import io
import logging
import os
import queue
import time
from pathlib import Path

import av
import numpy as np
import pytest

from edge.domain.model import ClipPurpose, ClipRequest, ClipTaken, Film, StopFilm
from edge.hardware import CameraError
from edge.hardware.h264 import Packet, mp4
from edge.hardware.pi_video import PiVideo, burn_yuv420, hardware_encoder, yuv420_masks
from edge.hardware.video import VideoFormat
from edge.store.photos import PhotoStore
from edge.workers.recorder import Recorder, VideoMaking
from tests.pi.camera_rig import (  # noqa: F401 - fixtures
    PICAMERA2_WARNINGS,
    cameras_fixture,
    pi_camera,
    sensor_fixture,
    within,
)
from tests.pi.picamera2_stack import SENSOR
from tests.waiting import wait_until

pytestmark = PICAMERA2_WARNINGS
CORNER = [(0.0, 0.0), (0.25, 0.0), (0.25, 0.25), (0.0, 0.25)]  # the top-left corner
VIDEO = VideoFormat(fps=10.0, width=320, height=240, masks=[CORNER])  # the config's float


def packets_of(sink: queue.Queue, count: int) -> list[Packet]:
    return [sink.get(timeout=10) for _ in range(count)]


def drain(sink: queue.Queue) -> None:
    while not sink.empty():
        sink.get_nowait()


def filming(cameras, video: VideoFormat = VIDEO, **setup: object):
    camera = pi_camera(cameras, size=(640, 480), **setup)
    source = PiVideo(camera, video)
    sink: queue.Queue[Packet] = queue.Queue()
    source.start(sink.put)
    source.want(True)  # opens the camera, and starts the encoder on it
    return camera, source, sink


def test_the_lores_stream_is_encoded_masked_at_the_videos_rate(cameras, caplog) -> None:
    caplog.set_level(logging.WARNING)
    _, _, sink = filming(cameras)
    packets = packets_of(sink, 12)
    assert packets[0].keyframe  # a new encoder starts on one
    assert sum(p.keyframe for p in packets) >= 2  # and makes one a second (10 frames)
    numbers = [p.sequence for p in packets]
    times = [p.sensor_ns for p in packets]
    assert numbers == sorted(set(numbers)) and times == sorted(set(times))
    assert SENSOR.started_with["FrameDurationLimits"] == (100_000, 100_000)  # the sensor at 10 fps
    assert "event=video_in_software" in caplog.text  # no /dev/video11 here: said, once
    assert caplog.text.count("event=video_in_software") == 1
    first = next(n for n, p in enumerate(packets) if p.keyframe)
    with av.open(io.BytesIO(mp4(packets[first:])), "r") as clip:
        frame = next(clip.decode(video=0))
    picture = frame.to_ndarray(format="gray")
    assert picture.shape == (240, 320)
    assert picture[10:50, 10:70].max() < 24, "the mask is not burned in"  # H.264 is lossy
    assert abs(int(np.median(picture[120:, 160:])) - 128) < 12  # the grey scene around it


def test_photos_and_proofs_go_on_while_the_encoder_runs(cameras) -> None:
    camera, _, sink = filming(cameras)
    packets_of(sink, 3)
    photo = within(10, camera.capture)
    assert photo.image.size == (640, 480)  # the main stream, not the video's
    assert photo.image.getpixel((300, 300)) == (128, 128, 128)  # no mask drawn on the photo
    later = packets_of(sink, 3)
    assert later[-1].sequence > photo.sequence  # one numbering for photos, proofs and video


def test_nobody_wanting_video_stops_the_encoder(cameras) -> None:
    camera, source, sink = filming(cameras)
    packets_of(sink, 2)
    source.want(False)
    drain(sink)
    before = camera.stamp().sequence
    wait_until(lambda: camera.stamp().sequence >= before + 5, "five more frames")
    assert sink.empty()  # frames went by, none was encoded
    source.want(True)
    assert packets_of(sink, 1)[0].keyframe  # a viewer's stream starts on a keyframe


def test_a_hung_camera_stops_the_video_and_it_resumes_at_the_reopening(cameras) -> None:
    camera, _, sink = filming(cameras, capture_timeout_s=0.5)
    before = packets_of(sink, 3)[-1]
    SENSOR.hung = True
    with pytest.raises(CameraError):  # a frame after now: none comes
        within(10, lambda: camera.stamp(after_ns=time.monotonic_ns()))
    # Closed: the encoder was stopped first, and nothing hung.
    assert not SENSOR.acquired()
    SENSOR.hung = False
    drain(sink)
    within(10, camera.stamp)  # the next probe reopens it, and the encoder with it
    after = packets_of(sink, 1)[0]
    assert after.keyframe and after.sequence > before.sequence


def test_a_held_clip_from_the_pi_encoder_is_stored_and_plays(cameras, tmp_path: Path) -> None:
    camera = pi_camera(cameras, size=(640, 480))
    inbox: queue.Queue = queue.Queue()
    store = PhotoStore(tmp_path)
    recorder = Recorder(PiVideo(camera, VIDEO), store, inbox.put, VideoMaking(pre_s=1, post_s=1))
    recorder.start()
    try:
        request = ClipRequest(ClipPurpose.DELIVERY, "D-1")
        recorder.film(Film(request, "D-1"))
        recorder.film(StopFilm("D-1"))
        taken = inbox.get(timeout=20)
    finally:
        recorder.stop()
    assert isinstance(taken, ClipTaken) and taken.max_gap_s < 0.5
    with av.open(str(store.path(taken.clip_id, "D-1", suffix=".mp4"))) as clip:
        frames = list(clip.decode(video=0))
    assert (frames[0].width, frames[0].height) == (320, 240) and len(frames) >= 8


def test_masks_fill_every_plane_of_a_strided_yuv420_buffer() -> None:
    width, height, stride = 64, 32, 96  # a stride wider than the picture, as libcamera's
    flat = np.full(stride * height * 3 // 2, 200, dtype=np.uint8)
    where = yuv420_masks(width, height, [[(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)]])
    assert where is not None
    burn_yuv420(flat, (width, height), stride, where)
    luma = flat[: stride * height].reshape(height, stride)
    assert (luma[:, 33:64] == 0).all() and (luma[:, :31] == 200).all()
    assert (luma[:, 64:] == 200).all()  # the stride's padding is not the picture's
    chroma = flat[stride * height :].reshape(2, height // 2, stride // 2)
    assert (chroma[:, :, 17:32] == 128).all() and (chroma[:, :, :15] == 200).all()


def test_doctor_says_whether_the_pis_encoder_can_be_opened(tmp_path: Path) -> None:
    device = tmp_path / "video11"
    assert "encoded in software" in (hardware_encoder(device) or "")
    device.touch(mode=0o600)
    assert hardware_encoder(device) is None
    if os.geteuid() != 0:  # root opens anything: the refusal cannot be shown to it
        device.chmod(0)
        assert "group video" in (hardware_encoder(device) or "")
