"""Where the recorder's H.264 packets come from. The recorder (edge/workers/recorder.py) keeps
the ring and cuts the clips; a source only makes packets, each from a picture with the privacy
masks already burned in, and hands them to ``sink`` on whatever thread makes them.

Two sources: ``SoftwareVideo`` takes the camera's pictures at `[video] fps` and encodes them
with PyAV (the simulator, and any camera without an encoder of its own); on a Pi, the camera's
own encoder does the work (edge/hardware/pi_video.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from edge.hardware import Camera, CameraError
from edge.hardware.h264 import H264Encoder, Packet
from edge.hardware.jpeg import Polygon, masked

log = logging.getLogger(__name__)

NS = 1_000_000_000
Sink = Callable[[Packet], None]


class EncoderUnavailable(RuntimeError):
    """No encoder can be opened (no PyAV, or no libx264 in its FFmpeg)."""


@dataclass(frozen=True)
class VideoFormat:
    """`[video]`'s rate and size, and `[privacy]`'s masks, burned in before any encoding."""

    fps: float = 10.0
    width: int = 640
    height: int = 480
    masks: Sequence[Polygon] = ()


class VideoSource(Protocol):
    fps: float  # the rate its packets come at, for a clip's duration

    def start(self, sink: Sink) -> None:
        """Begin; EncoderUnavailable when no packet can ever be made."""
        ...

    def want(self, on: bool) -> None:
        """Encode (a clip needs its pre-roll, or someone watches), or encode nothing."""
        ...

    def stop(self) -> None: ...


class SoftwareVideo:
    """The camera's pictures at `fps`, masked, encoded by PyAV's libx264 on a thread of its
    own. A frame the camera repeats (frozen) or fails is skipped, so a stopped camera shows as
    a gap in the clip, not as a still picture."""

    def __init__(self, camera: Camera, video: VideoFormat) -> None:
        self._camera = camera
        self._video = video
        self.fps = video.fps
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="video-encoder", daemon=True)
        self._encoder: H264Encoder | None = None
        self._sink: Sink = lambda _: None
        self._last_sequence: int | None = None

    def start(self, sink: Sink) -> None:
        video = self._video
        try:
            self._encoder = H264Encoder(video.width, video.height, video.fps)
        except (ImportError, ValueError, OSError) as exc:
            raise EncoderUnavailable(str(exc)) from exc
        self._sink = sink
        self._thread.start()

    def want(self, on: bool) -> None:
        (self._wanted.set if on else self._wanted.clear)()

    def stop(self) -> None:
        self._stopping.set()
        self._wanted.set()  # wake it to see the stop
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        period_ns = round(NS / self.fps)
        next_ns = time.monotonic_ns()
        while not self._stopping.is_set():
            self._wanted.wait()
            now = time.monotonic_ns()
            if now < next_ns:
                self._stopping.wait((next_ns - now) / NS)  # the frame clock, woken by a stop
                continue
            try:
                self._frame()
            except Exception:  # a bug: this frame is lost, the source goes on
                log.exception("event=video_frame_failed")
            next_ns += period_ns
            if next_ns <= now:  # behind (a slow encode): a period from now, no burst
                next_ns = now + period_ns

    def _frame(self) -> None:
        assert self._encoder is not None
        try:
            frame = self._camera.capture()
        except CameraError:
            return  # the capture worker tells the homeowner; the clip shows the gap
        if frame.sequence == self._last_sequence:
            return
        self._last_sequence = frame.sequence
        picture = masked(frame.image, self._video.masks)  # before any byte is encoded
        for packet in self._encoder.encode(picture, frame.sequence, frame.sensor_ns):
            self._sink(packet)
