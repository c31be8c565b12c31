"""A Pi camera's clips, made by the camera's own encoder: picamera2 encodes a small YUV420
stream ("lores") that the ISP scales beside the photos' main stream, so the CPU neither copies
nor scales a picture. On a Pi 4 (VC4) that is the hardware H.264 encoder, picamera2's
``H264Encoder`` (V4L2, /dev/video11); a Pi 5 has none, and where it cannot be opened picamera2's
``LibavH264Encoder`` (libx264) does the work, as the log says.

Read against picamera2 0.3.38: ``pre_callback`` runs on every request before any encoder sees
it, and the masks are burned into the lores buffer there; ``stop()`` and ``close()`` leave
encoders running, so the encoder is stopped before the camera closes (edge/hardware/pi_camera.py
calls back here); an encoder's timestamps count from its first frame (``firsttimestamp``), so
the sensor's own time is that plus the packet's."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from edge.hardware.h264 import Packet
from edge.hardware.jpeg import Polygon
from edge.hardware.pi_camera import FASTEST_FRAME_US, PiCamera
from edge.hardware.video import EncoderUnavailable, Sink, VideoFormat

log = logging.getLogger(__name__)

CODEC_DEVICE = Path("/dev/video11")  # bcm2835-codec's encoder, where picamera2 opens it
RECORDING_BUFFERS = 6  # picamera2's own video configuration's: an encoder holds requests
REMEMBERED_FRAMES = 64  # frame numbers kept for packets still in a hardware encoder
ENCODER_FIX = "run doorstep doctor; photos and unlocks go on without clips"
HARDWARE_FIX = (
    "the Pi's H.264 encoder (/dev/video11) cannot be opened: clips are encoded in software, "
    "which costs CPU; on a Pi 4 check that the doorstep user is in group video"
)


def hardware_encoder(device: Path = CODEC_DEVICE) -> str | None:
    """Why the Pi's H.264 encoder cannot be used (None: it can): for doorstep doctor."""
    if not device.exists():
        return f"no {device}: clips are encoded in software (as on a Pi 5, which has none)"
    if not os.access(device, os.R_OK | os.W_OK):
        return f"{device} is there but doorstep may not open it: {HARDWARE_FIX}"
    return None


def yuv420_masks(width: int, height: int, masks: Sequence[Polygon]) -> tuple[Any, Any] | None:
    """Where the masks fall in a YUV420 picture: a boolean array for the luma plane and one
    for the half-size chroma planes; None without masks."""
    if not masks:
        return None
    import numpy as np  # noqa: PLC0415 - picamera2's own dependency, on the Pi only
    from PIL import Image, ImageDraw  # noqa: PLC0415

    def drawn(w: int, h: int) -> Any:
        picture = Image.new("1", (w, h))
        draw = ImageDraw.Draw(picture)
        for polygon in masks:
            draw.polygon([(x * w, y * h) for x, y in polygon], fill=1)
        return np.array(picture, dtype=bool)

    return drawn(width, height), drawn(width // 2, height // 2)


def burn_yuv420(flat: Any, size: tuple[int, int], stride: int, where: tuple[Any, Any]) -> None:
    """Fill the masked pixels of a YUV420 buffer (planar, ``stride`` bytes a luma row, half that
    a chroma row) with black, in place."""
    width, height = size
    luma, chroma = where
    y_end = stride * height
    c_len = (stride // 2) * (height // 2)
    flat[:y_end].reshape(height, stride)[:, :width][luma] = 0
    for start in (y_end, y_end + c_len):
        plane = flat[start : start + c_len].reshape(height // 2, stride // 2)
        plane[:, : width // 2][chroma] = 128


class _Packets:
    """picamera2's Output, handing its packets to the recorder as Packets on the sensor's clock
    and frame numbers."""

    def __init__(self, video: PiVideo, encoder: Any) -> None:
        from picamera2.outputs import Output  # noqa: PLC0415

        outer = self

        class PacketOutput(Output):  # type: ignore[misc]
            def outputframe(self, frame, keyframe=True, timestamp=None, packet=None, audio=False):  # type: ignore[no-untyped-def]
                if frame is not None and not audio and timestamp is not None:
                    outer.packet(bytes(frame), bool(keyframe), int(timestamp))

        self.output = PacketOutput()
        self._video = video
        self._encoder = encoder

    def packet(self, data: bytes, keyframe: bool, timestamp_us: int) -> None:
        first = self._encoder.firsttimestamp
        if first is None:
            return
        sensor_us = first + timestamp_us
        sequence = self._video.sequence_of(sensor_us)
        if sequence is not None:
            self._video.sink(Packet(sensor_us * 1000, sequence, keyframe, data))


class PiVideo:
    """The VideoSource of a Pi camera: its lores stream, masked, encoded by picamera2."""

    def __init__(self, camera: PiCamera, video: VideoFormat) -> None:
        self._camera = camera
        self._video = video
        self.fps = video.fps
        self.sink: Sink = lambda _: None
        self._wanted = False
        self._encoder: Any = None
        self._size = (video.width, video.height)
        self._where: tuple[Any, Any] | None = None
        self._frames: OrderedDict[int, int] = OrderedDict()  # sensor µs -> frame number
        self._frames_lock = threading.Lock()
        self._next = 0  # past the last frame numbered here, for the camera's next opening
        self._software = False  # the hardware encoder could not be opened: said once

    # The VideoSource, called by the recorder.
    def start(self, sink: Sink) -> None:
        try:
            import av  # noqa: F401, PLC0415 - the MP4 muxer, whichever encoder makes the packets
        except ImportError as exc:
            raise EncoderUnavailable(str(exc)) from exc
        self.sink = sink
        self._camera.record(self)

    def want(self, on: bool) -> None:
        if on != self._wanted:
            self._wanted = on
            self._camera.film(on)

    def stop(self) -> None:
        self._camera.record(None)

    # Called by PiCamera, under its lock.
    def stream(self, main: tuple[int, int], max_frame_us: int) -> dict[str, Any]:
        """The configuration's additions: the lores stream (no larger than the photos', which
        libcamera requires), enough buffers, and the sensor at the video's rate."""
        width = min(self._video.width, main[0]) // 2 * 2
        height = min(self._video.height, main[1]) // 2 * 2
        self._size = (width, height)
        self._where = yuv420_masks(width, height, self._video.masks)
        floor_us = min(max(FASTEST_FRAME_US, round(1e6 / self._video.fps)), max_frame_us)
        return {
            "lores": {"size": (width, height), "format": "YUV420"},
            "buffer_count": RECORDING_BUFFERS,
            "frame_us": (floor_us, max_frame_us),
        }

    def opened(self, picam2: Any, base: int) -> None:
        """Burn the masks in and note each frame's number, on every request; then film if
        wanted."""

        def before_encoding(request: Any) -> None:
            sensor_ns = int(request.get_metadata()["SensorTimestamp"])
            sequence = base + int(request.request.sequence)
            with self._frames_lock:
                self._frames[sensor_ns // 1000] = sequence
                self._next = max(self._next, sequence + 1)
                while len(self._frames) > REMEMBERED_FRAMES:
                    self._frames.popitem(last=False)
            if self._where is not None:
                from picamera2 import MappedArray  # noqa: PLC0415

                with MappedArray(request, "lores", reshape=False) as mapped:
                    stride = int(request.config["lores"]["stride"])
                    burn_yuv420(mapped.array, self._size, stride, self._where)

        picam2.pre_callback = before_encoding
        self.film(picam2, self._wanted)

    def film(self, picam2: Any, on: bool) -> None:
        """Start or stop the encoder on an open camera. An encoder that fails is said and
        left: the camera goes on taking photos and proving it watches."""
        running = self._encoder is not None and self._encoder in picam2.encoders
        try:
            if on and not running:
                self._start_encoder(picam2)
            elif not on and running:
                picam2.stop_encoder(self._encoder)
        except Exception as exc:  # noqa: BLE001 - any encoder failure: photos go on
            log.error('event=video_encoder_failed error="%s" fix="%s"', exc, ENCODER_FIX)
            self._encoder = None

    def closing(self, picam2: Any) -> None:
        self.film(picam2, False)
        picam2.pre_callback = None

    def next_sequence(self) -> int:
        with self._frames_lock:
            return self._next

    def sequence_of(self, sensor_us: int) -> int | None:
        with self._frames_lock:
            return self._frames.get(sensor_us)

    def _start_encoder(self, picam2: Any) -> None:
        if self._encoder is None:
            self._encoder = self._new_encoder()
        try:
            picam2.start_encoder(self._encoder, _Packets(self, self._encoder).output, name="lores")
            return
        except OSError as exc:  # no /dev/video11 (a Pi 5, a Pi without the codec driver)
            if self._software:
                raise
            log.warning('event=video_in_software error="%s" fix="%s"', exc, HARDWARE_FIX)
            self._software = True
        self._encoder = self._new_encoder()
        picam2.start_encoder(self._encoder, _Packets(self, self._encoder).output, name="lores")

    def _new_encoder(self) -> Any:
        """The Pi 4's hardware encoder; libx264 on a Pi 5 (no H.264 block) or once the
        hardware one could not be opened."""
        from picamera2.encoders import H264Encoder, LibavH264Encoder  # noqa: PLC0415
        from picamera2.platform import Platform, get_platform  # noqa: PLC0415

        keyframes = max(1, round(self.fps))  # one a second: a clip starts at most 1 s early
        rate = Fraction(self.fps).limit_denominator(1000)  # PyAV takes no float rate
        if self._software or get_platform() != Platform.VC4:
            return LibavH264Encoder(iperiod=keyframes, framerate=rate)
        return H264Encoder(iperiod=keyframes, repeat=True, framerate=rate)
