"""A camera that renders a recognisable porch with Pillow, stamped with time and frame number,
so a demo report or a test can tell photos apart. `sim/camera fail` makes it stop giving frames."""

from __future__ import annotations

import io
import threading
from datetime import datetime, timezone

from PIL import Image, ImageDraw, ImageFont

from edge.hardware import CameraError


class SimCamera:
    def __init__(self, width: int, height: int, quality: int, label: str) -> None:
        self._size = (width, height)
        self._quality = quality
        self._label = label
        self._frames = 0
        self._working = True
        self._lock = threading.Lock()

    def set_working(self, working: bool) -> None:
        with self._lock:
            self._working = working

    def capture(self) -> bytes:
        with self._lock:
            if not self._working:
                raise CameraError("simulated camera delivers no frames")
            self._frames += 1
            frame = self._frames
        buffer = io.BytesIO()
        self._render(frame).save(buffer, format="JPEG", quality=self._quality)
        return buffer.getvalue()

    def close(self) -> None:
        pass

    def _render(self, frame: int) -> Image.Image:
        w, h = self._size
        image = Image.new("RGB", (w, h), (135, 185, 230))
        draw = ImageDraw.Draw(image)
        ground = int(h * 0.78)
        draw.rectangle((0, int(h * 0.12), w, ground), fill=(196, 164, 132))  # house wall
        door = (int(w * 0.40), int(h * 0.22), int(w * 0.60), ground)
        draw.rectangle(door, fill=(120, 58, 30), outline=(60, 30, 10), width=max(2, w // 320))
        knob = (door[0] + int(w * 0.17), int(h * 0.52))
        draw.ellipse((knob[0] - 6, knob[1] - 6, knob[0] + 6, knob[1] + 6), fill=(230, 200, 60))
        draw.rectangle((int(w * 0.10), int(h * 0.30), int(w * 0.28), int(h * 0.55)),
                       fill=(210, 235, 250), outline=(255, 255, 255), width=4)  # window
        draw.rectangle((0, ground, w, h), fill=(110, 110, 110))  # path
        draw.rectangle((int(w * 0.41), ground, int(w * 0.59), ground + int(h * 0.05)),
                       fill=(150, 80, 60))  # doormat
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        font = ImageFont.load_default(size=max(12, h // 24))
        draw.rectangle((0, 0, w, int(h * 0.10)), fill=(0, 0, 0))
        draw.text((10, 6), f"doorstep sim  {self._label}  {stamp}  frame #{frame}",
                  fill=(255, 255, 255), font=font)
        return image
