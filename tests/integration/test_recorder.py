"""The video recorder with the Pillow camera, PyAV's real encoder and muxer and real files: a
clip is an MP4 on disk before the core hears of it, decodes, starts before its trigger, shows
the masks burned in, and says when the camera stopped while it recorded."""

from __future__ import annotations

import hashlib
import queue
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from edge.domain.model import ClipFailed, ClipPurpose, ClipRequest, ClipTaken, Film, StopFilm
from edge.hardware.h264 import Packet
from edge.hardware.sim_camera import SimCamera
from edge.hardware.video import Sink, SoftwareVideo, VideoFormat
from edge.store.photos import PhotoStore
from edge.workers.recorder import Recorder, VideoMaking
from tests.waiting import wait_until

MASK = [(0.0, 0.0), (0.25, 0.0), (0.25, 0.25), (0.0, 0.25)]  # the top-left corner
QVGA = VideoFormat(width=320, height=240)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[Recorder, SimCamera, PhotoStore, queue.Queue]]:
    camera = SimCamera(320, 240, "porch-1")
    store = PhotoStore(tmp_path / "photos")
    inbox: queue.Queue = queue.Queue()
    video = SoftwareVideo(camera, VideoFormat(fps=10, width=320, height=240, masks=[MASK]))
    recorder = Recorder(video, store, inbox.put, VideoMaking(pre_s=1, post_s=1))
    recorder.start()
    yield recorder, camera, store, inbox
    recorder.stop()
    assert not recorder.alive()


class CountedVideo(SoftwareVideo):
    """The software source, counting the packets it has handed the recorder."""

    made = 0

    def start(self, sink: Sink) -> None:
        def counted(packet: Packet) -> None:
            self.made += 1
            sink(packet)

        super().start(counted)


def decoded(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def test_a_held_clip_is_stored_before_it_is_told_and_plays(rig) -> None:
    recorder, camera, store, inbox = rig
    request = ClipRequest(ClipPurpose.DELIVERY, "D-1")
    recorder.film(Film(request, "D-1"))
    recorder.film(StopFilm("D-1"))  # at once: a clip of post_s (the pre-roll is not made yet)
    taken = inbox.get(timeout=20)
    assert isinstance(taken, ClipTaken) and taken.request == request
    path = store.path(taken.clip_id, "D-1", suffix=".mp4")
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == taken.sha256 and len(data) == taken.size
    frames = decoded(path)
    assert (frames[0].width, frames[0].height) == (320, 240)
    assert taken.frames[1] - taken.frames[0] >= len(frames) - 1 >= 5
    assert 0.5 <= taken.duration_s <= 4 and taken.max_gap_s < 1 and not taken.truncated
    corner = frames[0].to_image().getpixel((10, 10))
    assert max(corner) < 24, f"the mask is not burned in: {corner}"  # H.264 is lossy


def test_many_orders_at_once_do_not_hold_the_frames_back(rig) -> None:
    # Every order wakes the recorder: a wake must not count as a frame taken, or a burst of
    # presses would push the next frame seconds away (a gap in every clip, a frozen live view).
    recorder, _, _, inbox = rig
    for _ in range(60):  # six seconds of frames at 10 a second, were each a frame's turn
        recorder.film(Film(ClipRequest(ClipPurpose.DOORBELL, None)))
        time.sleep(0.01)  # pacing the presses (each its own wake), not waiting on anything
    pressed = inbox.get(timeout=20)
    assert isinstance(pressed, ClipTaken) and pressed.max_gap_s < 1, pressed
    request = ClipRequest(ClipPurpose.DELIVERY, "D-1")
    recorder.film(Film(request, "D-1"))
    recorder.film(StopFilm("D-1"))
    held = inbox.get(timeout=20)
    assert isinstance(held, ClipTaken) and held.max_gap_s < 1, held


def test_a_doorbell_clip_needs_no_stop(rig) -> None:
    recorder, _, store, inbox = rig
    recorder.film(Film(ClipRequest(ClipPurpose.DOORBELL, None)))
    taken = inbox.get(timeout=20)
    assert isinstance(taken, ClipTaken)
    assert store.path(taken.clip_id, None, suffix=".mp4").exists()


def test_a_camera_that_stops_while_filming_shows_as_a_gap(tmp_path: Path) -> None:
    camera = SimCamera(320, 240, "porch-1")
    inbox: queue.Queue = queue.Queue()
    video = CountedVideo(camera, QVGA)
    recorder = Recorder(video, PhotoStore(tmp_path), inbox.put, VideoMaking(pre_s=1, post_s=1.5))
    recorder.start()
    try:
        recorder.film(Film(ClipRequest(ClipPurpose.DELIVERY, "D-1"), "D-1"))
        wait_until(lambda: video.made >= 3, "the first frames")
        camera.set_mode("fail")
        recorder.film(StopFilm("D-1"))  # its end passes with no frame: cut after the grace
        taken = inbox.get(timeout=20)
        assert isinstance(taken, ClipTaken) and taken.max_gap_s >= 1.5
    finally:
        recorder.stop()


def test_a_camera_that_never_gave_a_frame_fails_the_clip(tmp_path: Path) -> None:
    camera = SimCamera(320, 240, "porch-1")
    camera.set_mode("fail")
    inbox: queue.Queue = queue.Queue()
    video = SoftwareVideo(camera, QVGA)
    recorder = Recorder(video, PhotoStore(tmp_path), inbox.put, VideoMaking(post_s=0.2))
    recorder.start()
    try:
        recorder.film(Film(ClipRequest(ClipPurpose.DOORBELL, None)))
        assert isinstance(inbox.get(timeout=20), ClipFailed)
    finally:
        recorder.stop()


def test_without_an_encoder_every_clip_fails_at_once_and_the_recorder_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An FFmpeg without libx264 (a distribution's build may lack it): PyAV's own error.
    monkeypatch.setattr("edge.hardware.h264.H264Encoder.CODEC", "no-such-encoder")
    inbox: queue.Queue = queue.Queue()
    video = SoftwareVideo(SimCamera(320, 240, "porch-1"), QVGA)
    recorder = Recorder(video, PhotoStore(tmp_path), inbox.put)
    recorder.start()
    try:
        recorder.film(Film(ClipRequest(ClipPurpose.DOORBELL, None)))
        assert isinstance(inbox.get(timeout=20), ClipFailed)
        assert recorder.alive()  # the daemon's supervisor must not restart the door for it
    finally:
        recorder.stop()
