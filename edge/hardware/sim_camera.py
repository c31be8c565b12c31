"""A camera that renders a recognisable porch with Pillow, stamped with time and frame number,
so a demo report or a test can tell photos apart. `sim/camera fail` makes it stop giving
frames; `freeze` makes it repeat its last frame, counter and sensor time and all."""

from __future__ import annotations

import functools
import threading
import time
from datetime import UTC, datetime

from PIL import Image, ImageDraw, ImageFont

from edge.domain.camera import FrameStamp
from edge.hardware import CameraError, Frame


class SimCamera:
    def __init__(
        self, width: int, height: int, label: str, flips: tuple[bool, bool] = (False, False)
    ) -> None:
        self._flips = flips
        self._size = (width, height)
        self._label = label
        self._frames = 0
        self._mode = "ok"
        self._stamp = FrameStamp(0, 0)  # the sensor's latest frame
        self._last: Frame | None = None  # the latest frame rendered
        self._door_open = False
        self._parcel = False
        self._lock = threading.Lock()

    def see_door(self, is_open: bool) -> None:
        """The simulated world tells the camera what it would see."""
        with self._lock:
            self._door_open = is_open

    def see_parcel(self, placed: bool) -> None:
        with self._lock:
            self._parcel = placed

    def set_mode(self, mode: str) -> None:
        """ "ok", "fail" (no frames) or "freeze" (the same frame again and again)."""
        with self._lock:
            self._mode = mode

    def stamp(self, after_ns: int | None = None) -> FrameStamp:
        """The sensor's next frame, numbered and timed now, without drawing it."""
        with self._lock:
            return self._advance()

    def capture(self, after_ns: int | None = None) -> Frame:
        """A new frame, taken now (so always after ``after_ns``), unless frozen or failed."""
        with self._lock:
            stamp = self._advance()
            if self._last is not None and self._last.stamp == stamp:
                return self._last  # frozen: the very same picture
            door_open, parcel = self._door_open, self._parcel
        image = self._render(stamp.sequence, door_open, parcel)
        if self._flips[0]:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if self._flips[1]:
            image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        frame = Frame(image, stamp.sequence, stamp.sensor_ns)
        with self._lock:
            self._last = frame
        return frame

    def _advance(self) -> FrameStamp:
        if self._mode == "fail":
            raise CameraError("simulated camera delivers no frames")
        if self._mode != "freeze" or self._stamp.sequence == 0:
            self._frames += 1
            self._stamp = FrameStamp(self._frames, time.monotonic_ns())
        return self._stamp

    def close(self) -> None:
        pass

    def _render(self, frame: int, door_open: bool, parcel: bool) -> Image.Image:
        """The porch as it is (drawn once for each state of the door and the parcel), with
        this frame's caption."""
        w, h = self._size
        image = self._scene(door_open, parcel).copy()
        draw = ImageDraw.Draw(image)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        draw.rectangle((0, 0, w, int(h * 0.10)), fill=(0, 0, 0))
        draw.text(
            (10, 6),
            f"doorstep sim  {self._label}  {stamp}  frame #{frame}",
            fill=(255, 255, 255),
            font=self._font(),
        )
        return image

    @functools.cache  # noqa: B019 - one camera a process, a handful of states
    def _font(self) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        return ImageFont.load_default(size=max(12, self._size[1] // 24))

    @functools.cache  # noqa: B019 - four pictures a camera
    def _scene(self, door_open: bool, parcel: bool) -> Image.Image:
        w, h = self._size
        image = Image.new("RGB", (w, h), (135, 185, 230))
        draw = ImageDraw.Draw(image)
        ground = int(h * 0.78)
        draw.rectangle((0, int(h * 0.12), w, ground), fill=(196, 164, 132))  # house wall
        door = (int(w * 0.40), int(h * 0.22), int(w * 0.60), ground)
        if door_open:
            draw.rectangle(door, fill=(40, 34, 30))  # the dark hallway
            draw.polygon(
                [
                    (door[0], door[1]),
                    (door[0] + int(w * 0.05), door[1] + int(h * 0.04)),
                    (door[0] + int(w * 0.05), door[3] - int(h * 0.04)),
                    (door[0], door[3]),
                ],
                fill=(120, 58, 30),
                outline=(60, 30, 10),
            )  # the door, swung inwards
        else:
            draw.rectangle(door, fill=(120, 58, 30), outline=(60, 30, 10), width=max(2, w // 320))
            knob = (door[0] + int(w * 0.17), int(h * 0.52))
            draw.ellipse((knob[0] - 6, knob[1] - 6, knob[0] + 6, knob[1] + 6), fill=(230, 200, 60))
        draw.rectangle(
            (int(w * 0.10), int(h * 0.30), int(w * 0.28), int(h * 0.55)),
            fill=(210, 235, 250),
            outline=(255, 255, 255),
            width=4,
        )  # window
        # Across the street, what a doorbell films and must not keep: the neighbour's house,
        # someone at its lit window, and a passer-by on the pavement.
        draw.rectangle((int(w * 0.78), int(h * 0.12), w, ground), fill=(120, 130, 150))
        draw.rectangle(
            (int(w * 0.82), int(h * 0.20), int(w * 0.95), int(h * 0.42)), fill=(250, 220, 90)
        )
        draw.ellipse(
            (int(w * 0.86), int(h * 0.24), int(w * 0.90), int(h * 0.31)), fill=(60, 40, 40)
        )
        draw.rectangle(
            (int(w * 0.855), int(h * 0.31), int(w * 0.905), int(h * 0.42)), fill=(60, 40, 40)
        )
        draw.rectangle((0, ground, w, h), fill=(110, 110, 110))  # path
        draw.ellipse(
            (int(w * 0.06), int(h * 0.55), int(w * 0.10), int(h * 0.62)), fill=(230, 190, 160)
        )  # the passer-by
        draw.rectangle(
            (int(w * 0.055), int(h * 0.62), int(w * 0.105), int(h * 0.90)), fill=(200, 30, 40)
        )
        draw.rectangle(
            (int(w * 0.41), ground, int(w * 0.59), ground + int(h * 0.05)), fill=(150, 80, 60)
        )  # doormat
        if parcel:
            draw.rectangle(
                (int(w * 0.45), ground - int(h * 0.09), int(w * 0.55), ground + int(h * 0.03)),
                fill=(190, 140, 70),
                outline=(90, 60, 20),
                width=max(2, w // 320),
            )
        return image
