"""The Raspberry Pi camera through picamera2, imported only here and only when used:
picamera2 exists on Raspberry Pi OS alone (apt python3-picamera2).

Read against picamera2 0.3.38: ``capture_request()`` waits forever by default, so every wait
here has a deadline, after which the queued job is cancelled (``cancel_all_and_flush``) and the
camera closed, to be opened afresh at the next frame; a camera whose configure or start failed
is closed too. libcamera restarts its request sequence at every start, so the frame numbers
given out here go on counting across reopenings: the freshness proof compares them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from edge.domain.camera import FrameStamp
from edge.hardware import CameraError, Frame

FASTEST_FRAME_US = 33_333  # 30 fps: FrameDurationLimits' lower end


@dataclass(frozen=True)
class CameraSetup:
    size: tuple[int, int]
    flips: tuple[bool, bool] = (False, False)
    sensor_size: tuple[int, int] | None = None  # None: the whole field of view
    max_frame_interval_s: float = 0.1
    capture_timeout_s: float = 2.0


def full_view_mode(
    modes: Sequence[dict[str, Any]], resolution: tuple[int, int], size: tuple[int, int]
) -> tuple[int, int]:
    """The smallest sensor mode that sees the sensor's whole area and is at least ``size``
    (else the largest that sees it all): left to itself, libcamera picks a cropped mode for
    small photos (1536x864 on the IMX708), which narrows what the doorbell sees."""
    whole = [
        tuple(mode["size"])
        for mode in modes
        if tuple(mode.get("crop_limits", (0, 0, 0, 0)))[2:] == tuple(resolution)
    ]
    if not whole:
        return resolution
    big_enough = [s for s in whole if s[0] >= size[0] and s[1] >= size[1]]
    pick = (
        min(big_enough, key=lambda s: s[0] * s[1])
        if big_enough
        else max(whole, key=lambda s: s[0] * s[1])
    )
    return int(pick[0]), int(pick[1])


class CameraVideo(Protocol):
    """What records from this camera (PiVideo); called under the camera's lock."""

    def stream(self, main: tuple[int, int], max_frame_us: int) -> dict[str, Any]: ...
    def opened(self, picam2: Any, base: int) -> None: ...
    def film(self, picam2: Any, on: bool) -> None: ...
    def closing(self, picam2: Any) -> None: ...
    def next_sequence(self) -> int:
        """The least number a frame after every one it has numbered may carry."""
        ...


class PiCamera:
    def __init__(self, setup: CameraSetup, allocator: Callable[[], Any] | None = None) -> None:
        """``allocator`` makes picamera2's buffer allocator for each opening; None is picamera2's
        default (dma-heap buffers, as on Raspberry Pi OS)."""
        self._setup = setup
        self._allocator = allocator
        self._camera: Any = None
        self._lock = threading.Lock()
        self._base = 0  # added to libcamera's sequence, which restarts at every camera start
        self._next = 0  # the least number the next frame may carry
        self._video: CameraVideo | None = None

    def record(self, video: CameraVideo | None) -> None:
        """Record with ``video`` from the next opening (None: stop recording). The camera is
        closed now: its configuration changes, and the capture worker opens it again."""
        with self._lock:
            self._close_locked()
            self._video = video

    def film(self, on: bool) -> None:
        """Start or stop the video encoder, opening the camera to start it. A camera that
        cannot be opened now is the capture worker's to report; its next probe opens it, and
        the encoder with it."""
        with self._lock:
            if self._video is None:
                return
            if self._camera is None and on:
                with contextlib.suppress(Exception):
                    self._camera = self._open()  # starts the encoder
                return
            if self._camera is not None:
                self._video.film(self._camera, on)

    def _open(self) -> Any:
        from libcamera import Transform  # noqa: PLC0415 - Pi only, see module docstring
        from picamera2 import Picamera2  # noqa: PLC0415

        setup = self._setup
        camera = Picamera2(allocator=self._allocator() if self._allocator else None)
        try:
            sensor = setup.sensor_size or full_view_mode(
                camera.sensor_modes, camera.sensor_resolution, setup.size
            )
            hflip, vflip = setup.flips
            slowest_us = int(setup.max_frame_interval_s * 1e6)
            video = self._video.stream(setup.size, slowest_us) if self._video else {}
            camera.configure(
                camera.create_still_configuration(
                    main={"size": setup.size},
                    lores=video.get("lores"),
                    sensor={"output_size": sensor},
                    transform=Transform(hflip=hflip, vflip=vflip),
                    buffer_count=video.get("buffer_count", 1),
                    controls={
                        "FrameDurationLimits": video.get("frame_us", (FASTEST_FRAME_US, slowest_us))
                    },
                )
            )
            camera.start()
        except BaseException:
            with contextlib.suppress(Exception):  # the first error counts
                camera.close()
            raise
        if self._video is not None:  # its frames were numbered too
            self._next = max(self._next, self._video.next_sequence())
        self._base = self._next  # this start's frames come after every earlier one
        if self._video is not None:
            self._video.opened(camera, self._base)  # a video that fails leaves photos be
        return camera

    def capture(self, after_ns: int | None = None) -> Frame:
        """A frame whose exposure began after ``after_ns`` when given (picamera2's `flush`,
        on the same monotonic clock as SensorTimestamp), stamped by the sensor."""
        stamp, image = self._read(after_ns, picture=True)
        return Frame(image.convert("RGB"), stamp.sequence, stamp.sensor_ns)

    def stamp(self, after_ns: int | None = None) -> FrameStamp:
        """A frame's number and sensor time, without making a picture of it."""
        return self._read(after_ns, picture=False)[0]

    def _read(self, after_ns: int | None, picture: bool) -> tuple[FrameStamp, Any]:
        with self._lock:
            try:
                if self._camera is None:
                    self._camera = self._open()
                request = self._request(after_ns)
                try:
                    sensor_ns = int(request.get_metadata()["SensorTimestamp"])
                    sequence = self._base + int(request.request.sequence)
                    image = request.make_image("main") if picture else None
                finally:
                    request.release()  # buffers must always go back to libcamera
                self._next = max(self._next, sequence + 1)
                return FrameStamp(sequence, sensor_ns), image
            except Exception as exc:  # any failure of the stack means: no frame
                self._close_locked(cancel=isinstance(exc, TimeoutError))
                if isinstance(exc, TimeoutError):
                    raise CameraError(
                        f"picamera2: no frame within {self._setup.capture_timeout_s:g} s"
                    ) from exc
                raise CameraError(f"picamera2: {exc}") from exc

    def _request(self, after_ns: int | None) -> Any:
        """The next request, or TimeoutError (picamera2's) after the deadline."""
        wait = self._setup.capture_timeout_s
        if after_ns is None:
            return self._camera.capture_request(wait=wait)
        return self._camera.capture_request(wait=wait, flush=after_ns)

    def _close_locked(self, cancel: bool = False) -> None:
        camera, self._camera = self._camera, None
        if camera is None:
            return
        with contextlib.suppress(Exception):  # closing a broken camera: the first error counts
            if self._video is not None:
                self._video.closing(camera)  # picamera2's close leaves encoders running
        with contextlib.suppress(Exception):
            if cancel:  # the timed-out job is still queued: picamera2 would wait on it
                camera.cancel_all_and_flush()
            camera.close()

    def close(self) -> None:
        with self._lock:
            self._close_locked()
