"""The camera worker: takes photos off the core thread, stores each JPEG before reporting it,
answers the core's requests for a fresh-frame proof before anything else, and probes the camera
while idle so `state.camera` reflects frames really arriving: a capture that fails, or a frame
that does not advance past the one before it, is a fault."""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import queue
import secrets
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from edge.domain.camera import NS, FrameStamp, not_advanced
from edge.domain.model import (
    CameraHealth, CaptureRequest, FrameProof, Input, PhotoFailed, PhotoTaken, ProveCamera, Purpose,
    StorageHealth,
)
from edge.events import rfc3339
from edge.hardware import Camera, CameraError
from edge.hardware.drop_zone import Zone, parcel_visible, zone_of
from edge.hardware.jpeg import Polygon, masked_jpeg
from edge.store.photos import PhotoStore

log = logging.getLogger(__name__)

PROBE_INTERVAL_S = 5.0
MAX_REFERENCES = 16

Job = ProveCamera | CaptureRequest | None  # None: a probe
_PRIORITY = {ProveCamera: 0, CaptureRequest: 1, type(None): 2}  # a door waits on a proof


def new_photo_id(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


class CaptureWorker:
    def __init__(self, camera: Camera, photos: PhotoStore, submit: Callable[[Input], None],
                 probe_interval_s: float = PROBE_INTERVAL_S, max_bytes: int | None = None,
                 quality: int = 85, masks: Sequence[Polygon] = (),
                 drop_zone: Zone | None = None) -> None:
        self._camera = camera
        self._photos = photos
        self._submit = submit
        self._probe_interval = probe_interval_s
        # Masked and fitted here, before hashing: every copy of a photo is masked and has one
        # sha256, and the unmasked picture never leaves memory.
        self._max_bytes = max_bytes
        self._quality = quality
        self._masks = tuple(masks)
        self._drop_zone = drop_zone
        self._references: dict[str, Any] = {}  # delivery id -> its drop zone at `arriving`
        self._jobs: queue.PriorityQueue[tuple[int, int, Job]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._last: FrameStamp | None = None  # the latest frame seen, to judge the next one
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)

    def start(self) -> None:
        self.probe_now()  # know the camera's health at once, not after the first interval
        self._thread.start()

    def request(self, request: CaptureRequest) -> None:
        self._put(request)

    def prove(self, ask: ProveCamera) -> None:
        """Capture a fresh frame for an unlock waiting on it; goes before queued photos."""
        self._put(ask)

    def probe_now(self) -> None:
        """Check the camera at once (after `sim/camera`), rather than at the next idle probe."""
        self._put(None)

    def stop(self) -> None:
        self._stop.set()
        self._put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _put(self, job: Job) -> None:
        self._jobs.put((_PRIORITY[type(job)], next(self._order), job))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._jobs.get(timeout=self._probe_interval)[2]
            except queue.Empty:
                job = None
            if self._stop.is_set():
                return
            try:
                if isinstance(job, ProveCamera):
                    self._prove(job)
                else:
                    self._take(job)
            except Exception:
                log.exception("event=capture_worker_failed")

    def _prove(self, ask: ProveCamera) -> None:
        """Report the facts (the new frame's number and sensor time, and the one before it);
        the domain judges them. No picture is made: the unlock waits for one frame, no more."""
        after_ns = math.ceil(ask.not_before * NS)
        previous = self._last
        try:
            stamp = self._camera.stamp(after_ns)
            if previous is None:  # the first frame since start: a second one to compare with
                previous, stamp = stamp, self._camera.stamp(after_ns)
        except CameraError as exc:
            log.error("event=camera_fault error=%s", exc)
            self._submit(FrameProof(ask.proof_id, None, previous, f"camera: {exc}"))
            return
        self._last = stamp
        self._submit(FrameProof(ask.proof_id, stamp, previous))

    def _judged(self, stamp: FrameStamp) -> None:
        """Remember ``stamp``; CameraError when it did not advance past the one before."""
        previous, self._last = self._last, stamp
        stuck = not_advanced(previous, stamp) if previous is not None else None
        if stuck is not None:
            raise CameraError(stuck)

    def _take(self, request: CaptureRequest | None) -> None:
        """A photo for ``request``, or (None) a probe that only reads the frame counter."""
        try:
            if request is None:
                self._judged(self._camera.stamp())
            else:
                frame = self._camera.capture()
                self._judged(frame.stamp)
        except CameraError as exc:
            log.error("event=camera_fault error=%s", exc)
            self._submit(CameraHealth(False))
            if request is not None:
                self._submit(PhotoFailed(request, f"camera: {exc}"))
            return
        self._submit(CameraHealth(True))  # the domain ignores no-change
        if request is None:
            return
        parcel = self._parcel(request, frame.image)
        if request.purpose is Purpose.REFERENCE:
            return  # compared later, never kept
        jpeg = masked_jpeg(frame.image, self._masks, self._quality, self._max_bytes)
        moment = datetime.now(UTC)
        photo_id = new_photo_id(moment)
        try:
            self._photos.save(photo_id, request.delivery_id, jpeg, private=request.confidential)
        except OSError as exc:  # StorageFull, or the disk itself is full or gone
            log.error("event=photo_not_stored photo_id=%s error=%s", photo_id, exc)
            self._submit(StorageHealth("photos", False))
            self._submit(PhotoFailed(request, f"storage: {exc}"))
            return
        self._submit(StorageHealth("photos", True))  # the domain ignores no-change
        self._submit(PhotoTaken(request, photo_id, hashlib.sha256(jpeg).hexdigest(), len(jpeg),
                                rfc3339(moment), frame.stamp, parcel))

    def _parcel(self, request: CaptureRequest, image: Any) -> bool | None:
        """Keep the drop zone at `arriving`; at the confirmation, whether it changed."""
        if self._drop_zone is None or request.delivery_id is None:
            return None
        if request.purpose is Purpose.REFERENCE:
            self._references[request.delivery_id] = zone_of(image, self._drop_zone)
            log.info("event=drop_zone_seen delivery_id=%s", request.delivery_id)
            while len(self._references) > MAX_REFERENCES:  # deliveries that never confirmed
                self._references.pop(next(iter(self._references)))
            return None
        reference = self._references.get(request.delivery_id)
        if request.purpose is not Purpose.CONFIRMATION or reference is None:
            return None
        return parcel_visible(reference, zone_of(image, self._drop_zone))
