"""The video recorder: a thread that keeps the last seconds of H.264 from a video source
(edge/hardware/video.py: the camera's pictures encoded by PyAV, or a Pi camera's own encoder),
masks already burned in, in a ring, and cuts the clips the machine asks for (Film, StopFilm).
The same packets feed the live view while someone watches it. Each clip is stored as an MP4
beside the photos before it is reported (ClipTaken), so the outbox and the receipts name a file
that exists.

Orders and packets reach the thread through one queue, in the order they happened: an order
never costs a frame. A camera that gives no frame is not this thread's to diagnose (the capture
worker says so, and the machine refuses unlocks): the clip shows the gap, in `max_gap_s`, and
is cut with what there is once its end has passed."""

from __future__ import annotations

import hashlib
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from edge.contract.events import rfc3339
from edge.domain.model import ClipFailed, ClipRequest, ClipTaken, Film, Input, StopFilm
from edge.hardware.h264 import Packet, mp4
from edge.hardware.video import EncoderUnavailable, VideoSource
from edge.store.photos import NewPhoto, PhotoStore
from edge.workers.clip_ring import NS, ClipRing, Cut
from edge.workers.live_view import LiveView

log = logging.getLogger(__name__)

ENCODER_FIX = "install python3-av (FFmpeg with libx264), or set [video] clips = false"
QUIET_GRACE_S = 2.0  # a clip's end passed this long ago with no frame: cut without the rest
TICK_S = 0.5  # with nothing queued, this often: overdue clips, and whether anyone watches
CLIP_STORE_FIX = (
    "free space on the data dir's disk, or raise storage.photos_quota_mb (clips are kept "
    "with the photos)"
)


@dataclass(frozen=True)
class VideoMaking:
    """`[video]`: the clip's pre-roll, tail and cap, and whether clips are kept at all."""

    pre_s: float = 5.0
    post_s: float = 5.0
    max_s: float = 120.0
    clips: bool = True  # False: packets are made only for a live viewer, none kept


@dataclass(frozen=True)
class _Clip:
    request: ClipRequest
    clip_id: str


class _Tick:
    """Nothing came within TICK_S."""


Item = Film | StopFilm | Packet | None  # None: stop


def new_clip_id(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


class Recorder:
    def __init__(
        self,
        source: VideoSource,
        store: PhotoStore,
        submit: Callable[[Input], None],
        making: VideoMaking = VideoMaking(),
        live: LiveView | None = None,
    ) -> None:
        self._source = source
        self._live = live  # the live view, fed the same packets
        self._store = store
        self._submit = submit
        self._making = making
        self._ring = ClipRing(
            round(making.pre_s * NS), round(making.post_s * NS), round(making.max_s * NS)
        )
        self._items: queue.SimpleQueue[Item] = queue.SimpleQueue()  # orders and packets, in turn
        self._now_ns = time.monotonic_ns  # the sensor's clock (CLOCK_MONOTONIC on a Pi)
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)

    def start(self) -> None:
        """Start the source here, before the camera's first use (a Pi camera is then opened
        once, with its video stream), then the thread."""
        try:
            self._source.start(self._items.put)
        except EncoderUnavailable as exc:
            log.error('event=recorder_unavailable error="%s" fix="%s"', exc, ENCODER_FIX)
            self._thread = threading.Thread(target=self._refuse_orders, name="recorder")
            self._thread.daemon = True
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def film(self, order: Film | StopFilm) -> None:
        self._items.put(order)

    def stop(self) -> None:
        self._items.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while self._step():
                pass
        finally:
            self._source.stop()

    def _step(self) -> bool:
        """One order or packet (or a tick without either); False once told to stop."""
        watched = self._live is not None and self._live.watching()
        self._source.want(self._making.clips or watched)  # nobody watches, no clip: no encoding
        item: Item | _Tick
        try:
            item = self._items.get(timeout=TICK_S)
        except queue.Empty:
            item = _Tick()
        match item:
            case None:
                return False
            case Packet():
                if watched and self._live is not None:
                    self._live.feed(item)
                cuts = self._ring.add(item) if self._making.clips else []
            case Film(request, key):
                clip = _Clip(request, new_clip_id(datetime.now(UTC)))
                self._ring.open(clip, self._now_ns(), key, merge=request if key is None else None)
                cuts = []
            case StopFilm(key):
                self._ring.close(key, self._now_ns())
                cuts = []
            case _:
                cuts = []
        cuts += self._ring.overdue(self._now_ns(), round(QUIET_GRACE_S * NS))
        for cut in cuts:
            try:
                self._store_cut(cut)
            except Exception:  # a bug: this clip is lost, said, and the recorder goes on
                log.exception("event=recorder_failed")
        return True

    def _refuse_orders(self) -> None:
        """Without an encoder: every clip asked for fails at once (a delivery waits for none)."""
        while (order := self._items.get()) is not None:
            if isinstance(order, Film):
                self._submit(ClipFailed(order.request, "no video encoder"))

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
                round((last.sensor_ns - first.sensor_ns) / NS + 1 / self._source.fps, 3),
                (first.sequence, last.sequence),
                round(cut.max_gap_s(), 3),
                cut.truncated,
            )
        )

    def _wall(self, sensor_ns: int) -> datetime:
        return datetime.fromtimestamp(time.time() - (self._now_ns() - sensor_ns) / NS, UTC)
