"""The Raspberry Pi camera through picamera2, imported only here and only when used:
picamera2 exists on Raspberry Pi OS alone (apt python3-picamera2)."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from edge.domain.camera import FrameStamp
from edge.hardware import CameraError, Frame


class PiCamera:
    def __init__(self, width: int, height: int,
                 flips: tuple[bool, bool] = (False, False)) -> None:
        self._size = (width, height)
        self._flips = flips
        self._camera: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        from libcamera import Transform  # noqa: PLC0415 - Pi only, see module docstring
        from picamera2 import Picamera2  # noqa: PLC0415

        camera = Picamera2()
        hflip, vflip = self._flips
        camera.configure(camera.create_still_configuration(
            main={"size": self._size}, transform=Transform(hflip=hflip, vflip=vflip)))
        camera.start()
        return camera

    def capture(self, after_ns: int | None = None) -> Frame:
        """A frame whose exposure began after ``after_ns`` when given (picamera2's `flush`,
        on the same monotonic clock as SensorTimestamp), stamped by the sensor; its number
        is libcamera's request sequence, which advances with every frame."""
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
                    libcamera_request = getattr(request, "request", None)
                    sequence = int(getattr(libcamera_request, "sequence", sensor_ns))
                    image = request.make_image("main") if picture else None
                finally:
                    request.release()  # buffers must always go back to libcamera
                return FrameStamp(sequence, sensor_ns), image
            except Exception as exc:  # any failure of the stack means: no frame
                self._close_locked()
                raise CameraError(f"picamera2: {exc}") from exc

    def _request(self, after_ns: int | None) -> Any:
        if after_ns is None:
            return self._camera.capture_request()
        try:
            return self._camera.capture_request(flush=after_ns)
        except TypeError:  # a picamera2 older than `flush`: the core still checks the time
            return self._camera.capture_request()

    def _close_locked(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            with contextlib.suppress(Exception):  # closing a broken camera: the first error counts
                camera.close()

    def close(self) -> None:
        with self._lock:
            self._close_locked()
