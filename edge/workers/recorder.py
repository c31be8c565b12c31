"""The video recorder: a thread that takes the camera's frames at `[video] fps`, burns the privacy
masks in, encodes them (edge/hardware/h264.py) into a ring of the last seconds, and cuts the
clips the machine asks for (Film, StopFilm). The same packets feed the live view while someone
watches it. Each clip is stored as an MP4 beside the photos
before it is reported (ClipTaken), so the outbox and the receipts name a file that exists.

A camera that gives no frame is not this thread's to diagnose (the capture worker says so,
and the machine refuses unlocks): the clip shows the gap, in `max_gap_s`, and is cut with what
there is once its end has passed."""

from __future__ import annotations

import hashlib
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from edge.contract.events import rfc3339
from edge.domain.model import ClipFailed, ClipRequest, ClipTaken, Film, Input, StopFilm
from edge.hardware import Camera, CameraError
from edge.hardware.h264 import H264Encoder, mp4
from edge.hardware.jpeg import Polygon, masked
from edge.store.photos import NewPhoto, PhotoStore
from edge.workers.clip_ring import NS, ClipRing, Cut
from edge.workers.live_view import LiveView

log = logging.getLogger(__name__)

ENCODER_FIX = "install python3-av (FFmpeg with libx264), or set [video] clips = false"
QUIET_GRACE_S = 2.0  # a clip's end passed this long ago with no frame: cut without the rest
CLIP_STORE_FIX = (
    "free space on the data dir's disk, or raise storage.photos_quota_mb (clips are kept "
    "with the photos)"
)


@dataclass(frozen=True)
class VideoMaking:
    """`[video]`: the clip's rate, size, pre-roll, tail and cap; the masks of `[privacy]`."""

    fps: float = 10.0
    width: int = 640
    height: int = 480
    pre_s: float = 5.0
    post_s: float = 5.0
    max_s: float = 120.0
    masks: Sequence[Polygon] = ()
    clips: bool = True  # False: frames are encoded only for a live viewer, none kept


@dataclass(frozen=True)
class _Clip:
    request: ClipRequest
    clip_id: str


Order = Film | StopFilm | None  # None: stop


def new_clip_id(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


class Recorder:
    def __init__(
        self,
        camera: Camera,
        store: PhotoStore,
        submit: Callable[[Input], None],
        making: VideoMaking = VideoMaking(),
        live: LiveView | None = None,
    ) -> None:
        self._camera = camera
        self._live = live  # the live view, fed the same packets
        self._store = store
        self._submit = submit
        self._making = making
        self._ring = ClipRing(
            round(making.pre_s * NS), round(making.post_s * NS), round(making.max_s * NS)
        )
        self._orders: queue.SimpleQueue[Order] = queue.SimpleQueue()
        self._woken = threading.Event()
        self._now_ns = time.monotonic_ns  # the sensor's clock (CLOCK_MONOTONIC on a Pi)
        self._last_sequence: int | None = None
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def film(self, order: Film | StopFilm) -> None:
        self._orders.put(order)
        self._woken.set()

    def stop(self) -> None:
        self._orders.put(None)
        self._woken.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            encoder = H264Encoder(self._making.width, self._making.height, self._making.fps)
        except (ImportError, ValueError, OSError) as exc:  # no PyAV, or no libx264 in it
            log.error('event=recorder_unavailable error="%s" fix="%s"', exc, ENCODER_FIX)
            self._refuse_orders()
            return
        period_ns = round(NS / self._making.fps)
        next_ns = self._now_ns()
        while self._take_orders():
            now = self._now_ns()
            if now >= next_ns:  # a frame is due (an order alone wakes the loop, takes none)
                try:
                    self._frame(encoder)
                except Exception:  # a bug: this frame is lost, the recorder goes on
                    log.exception("event=recorder_failed")
                next_ns += period_ns
                if next_ns <= now:  # behind (a slow encode): a period from now, no burst
                    next_ns = now + period_ns
            self._orders_wait(max(0, next_ns - self._now_ns()) / NS)

    def _refuse_orders(self) -> None:
        """Without an encoder: every clip asked for fails at once (a delivery waits for none)."""
        while True:
            self._woken.wait()
            self._woken.clear()
            while not self._orders.empty():
                order = self._orders.get_nowait()
                if order is None:
                    return
                if isinstance(order, Film):
                    self._submit(ClipFailed(order.request, "no video encoder"))

    def _orders_wait(self, seconds: float) -> None:
        """Sleep until the next frame is due, waking at once for an order."""
        if self._woken.wait(seconds):
            self._woken.clear()  # the orders are taken, in the order given, by _take_orders

    def _take_orders(self) -> bool:
        """Open and close what the machine asked; False once told to stop."""
        while True:
            try:
                order = self._orders.get_nowait()
            except queue.Empty:
                return True
            now = self._now_ns()
            match order:
                case None:
                    return False
                case Film(request, key):
                    clip = _Clip(request, new_clip_id(datetime.now(UTC)))
                    self._ring.open(clip, now, key, merge=request if key is None else None)
                case StopFilm(key):
                    self._ring.close(key, now)

    def _frame(self, encoder: H264Encoder) -> None:
        watched = self._live is not None and self._live.watching()
        if not self._making.clips and not watched:
            return  # nobody watches and no clip needs a pre-roll: no encoding at all
        try:
            frame = self._camera.capture()
        except CameraError:
            frame = None
        if frame is None or frame.sequence == self._last_sequence:  # none, or frozen
            cuts = self._ring.overdue(self._now_ns(), round(QUIET_GRACE_S * NS))
        else:
            self._last_sequence = frame.sequence
            picture = masked(frame.image, self._making.masks)  # before any byte is encoded
            cuts = []
            for packet in encoder.encode(picture, frame.sequence, frame.sensor_ns):
                if watched and self._live is not None:
                    self._live.feed(packet)
                if self._making.clips:
                    cuts += self._ring.add(packet)
        for cut in cuts:
            self._store_cut(cut)

    def _store_cut(self, cut: Cut) -> None:
        clip = cut.token
        assert isinstance(clip, _Clip)
        request = clip.request
        if not cut.packets:
            log.warning(
                'event=clip_failed clip_id=%s error="no video: the camera gave no frame" '
                'fix="run doorstep doctor"',
                clip.clip_id,
            )
            self._submit(ClipFailed(request, "the camera gave no frame"))
            return
        try:
            data = mp4(cut.packets)
        except Exception as exc:  # FFmpeg refused the packets: this clip fails, told
            log.exception("event=clip_failed clip_id=%s", clip.clip_id)
            self._submit(ClipFailed(request, f"mp4: {exc}"))
            return
        saved = self._store.save_all(
            [NewPhoto(clip.clip_id, request.delivery_id, data, request.confidential, ".mp4")]
        )[0]
        if isinstance(saved, OSError):
            log.error(
                'event=clip_not_stored clip_id=%s error="%s" fix="%s"',
                clip.clip_id,
                saved,
                CLIP_STORE_FIX,
            )
            self._submit(ClipFailed(request, f"storage: {saved}"))
            return
        first, last = cut.packets[0], cut.packets[-1]
        self._submit(
            ClipTaken(
                request,
                clip.clip_id,
                hashlib.sha256(data).hexdigest(),
                len(data),
                rfc3339(self._wall(first.sensor_ns)),
                round((last.sensor_ns - first.sensor_ns) / NS + 1 / self._making.fps, 3),
                (first.sequence, last.sequence),
                round(cut.max_gap_s(), 3),
                cut.truncated,
            )
        )

    def _wall(self, sensor_ns: int) -> datetime:
        return datetime.fromtimestamp(time.time() - (self._now_ns() - sensor_ns) / NS, UTC)
