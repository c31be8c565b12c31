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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from edge.contract.events import rfc3339
from edge.domain.camera import NS, FrameStamp, not_advanced
from edge.domain.model import (
    CameraHealth,
    CaptureRequest,
    FrameProof,
    Input,
    PhotoFailed,
    PhotoTaken,
    ProveCamera,
    Purpose,
    StorageHealth,
)
from edge.hardware import Camera, CameraError
from edge.hardware.drop_zone import Zone, parcel_visible, zone_of
from edge.hardware.jpeg import Polygon, masked_jpeg
from edge.journal.fault_log import FaultLog
from edge.store.photos import NewPhoto, PhotoStore

log = logging.getLogger(__name__)

PROBE_INTERVAL_S = 5.0
CLOSE_PROBE_S = 0.25  # while someone is let in: the camera is looked at four times a second
MAX_FRAME_AGE_S = 1.0  # ... and a newest frame older than this is a fault
CAMERA_FAULT_STOPS = (
    "in-home deliveries and owner unlocks are refused (never unlocked "
    "unwatched), and no photos are taken"
)
PHOTO_STORE_FIX = (
    "free space on the data dir's disk, or raise storage.photos_quota_mb; photos "
    "that wait for the broker are kept until it acknowledges them"
)
MAX_REFERENCES = 16
MAX_BATCH = 8  # photos stored together when a burst is waiting
MAX_WAITING_PRESSES = 32  # doorbell photos queued at most: a mashed button takes no more

Job = ProveCamera | CaptureRequest | None  # None: a probe


def _priority(job: Job) -> int:
    """A door waits on a proof; a delivery's photo (its completion waits on it) goes before
    doorbell snapshots, which anyone outside can ask for; a probe last."""
    if isinstance(job, ProveCamera):
        return 0
    if isinstance(job, CaptureRequest):
        return 2 if job.purpose is Purpose.DOORBELL else 1
    return 3


@dataclass(frozen=True)
class _Shot:
    """A photo captured and encoded, not yet stored."""

    request: CaptureRequest
    photo_id: str
    jpeg: bytes
    moment: datetime
    stamp: FrameStamp
    parcel: bool | None


def new_photo_id(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class PhotoMaking:
    """How a frame becomes a photo (config `[privacy]`, `[delivery] drop_zone`, the camera's
    `jpeg_quality`, the broker's payload limit): masks burned in, fitted under ``max_bytes``."""

    max_bytes: int | None = None
    quality: int = 85
    masks: Sequence[Polygon] = ()
    drop_zone: Zone | None = None


class CaptureWorker:
    def __init__(
        self,
        camera: Camera,
        photos: PhotoStore,
        submit: Callable[[Input], None],
        probe_interval_s: float = PROBE_INTERVAL_S,
        making: PhotoMaking = PhotoMaking(),
        camera_fix: str = "run doorstep doctor",
    ) -> None:
        self._camera = camera
        self._camera_log = FaultLog("camera", CAMERA_FAULT_STOPS, camera_fix, log)
        self._clock = time.monotonic
        self._now_ns = time.monotonic_ns  # the sensor's clock (CLOCK_MONOTONIC on a Pi)
        self._photos = photos
        self._submit = submit
        self._probe_interval = probe_interval_s
        self._idle_interval = probe_interval_s
        self._close = False  # watching closely: the door is unlocked or open
        # Masked and fitted here, before hashing: every copy of a photo is masked and has one
        # sha256, and the unmasked picture never leaves memory.
        self._max_bytes = making.max_bytes
        self._quality = making.quality
        self._masks = tuple(making.masks)
        self._drop_zone = making.drop_zone
        self._references: dict[str, Any] = {}  # delivery id -> its drop zone at `arriving`
        self._jobs: queue.PriorityQueue[tuple[int, int, Job]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._last: FrameStamp | None = None  # the latest frame seen, to judge the next one
        self._said: dict[tuple[type, str | None], bool] = {}  # each part's last health told
        self._presses_lock = threading.Lock()
        self._presses_waiting = 0  # doorbell photos asked for and not yet reported
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)

    def start(self) -> None:
        self.probe_now()  # know the camera's health at once, not after the first interval
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def request(self, request: CaptureRequest) -> None:
        """Queue a photo. A doorbell pressed again and again while its photos wait is answered
        at once without one (the press is still told, with no photo): a flood of presses
        never buries a delivery's photos, nor fills the card."""
        if request.purpose is Purpose.DOORBELL:
            with self._presses_lock:
                busy = self._presses_waiting >= MAX_WAITING_PRESSES
                self._presses_waiting += not busy
            if busy:
                self._submit(
                    PhotoFailed(
                        request,
                        f"camera busy: {MAX_WAITING_PRESSES} doorbell photos already waiting",
                    )
                )
                return
        self._put(request)

    def prove(self, ask: ProveCamera) -> None:
        """Capture a fresh frame for an unlock waiting on it; goes before queued photos."""
        self._put(ask)

    def watch(self, close: bool) -> None:
        """While someone is let in, look at the camera four times a second and hold its newest
        frame to a second's age (the 2017 attack kept a stale picture showing while a courier
        went back in); afterwards, back to the idle probe."""
        self._close = close
        self._probe_interval = CLOSE_PROBE_S if close else self._idle_interval
        self.probe_now()

    def probe_now(self) -> None:
        """Check the camera at once (after `sim/camera`), rather than at the next idle probe."""
        self._put(None)

    def stop(self) -> None:
        self._stop.set()
        self._put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _tell(self, health: CameraHealth | StorageHealth) -> None:
        """Say the camera's or the photo store's health when it changes (this worker is the
        only one who says either): a burst of photos is not a burst of no-change steps."""
        part = (type(health), getattr(health, "area", None))
        if self._said.get(part) != health.ok:  # a fault's new detail is no news
            self._said[part] = health.ok
            self._submit(health)

    def _camera_fault(self, exc: CameraError, frame_age_s: float | None = None) -> None:
        """Said in the journal (systemd's STATUS says it from the state: camera fault)."""
        self._camera_log.failed(str(exc), self._clock())
        self._tell(CameraHealth(False, str(exc), frame_age_s))

    def _camera_works(self) -> None:
        self._camera_log.ok(self._clock())
        self._tell(CameraHealth(True))

    def _put(self, job: Job) -> None:
        self._jobs.put((_priority(job), next(self._order), job))

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
                elif job is None:
                    self._probe()
                else:
                    self._take(self._waiting_with(job))
            except Exception:
                log.exception("event=capture_worker_failed")

    def _waiting_with(self, first: CaptureRequest) -> list[CaptureRequest]:
        """``first`` and the photos asked for since (a burst: stored with one folder fsync).
        A proof that comes meanwhile is answered at once: an unlock never waits on photos."""
        batch = [first]
        while len(batch) < MAX_BATCH and not self._stop.is_set():
            try:
                job = self._jobs.get_nowait()[2]
            except queue.Empty:
                break
            if isinstance(job, ProveCamera):
                self._prove(job)
            elif job is None:
                self._probe()
            else:
                batch.append(job)
        return batch

    def _answer_proofs(self) -> None:
        """Between the photos of a burst: a proof asked for meanwhile goes first."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if not isinstance(job[2], ProveCamera):
                self._jobs.put(job)  # the same place in line: its order number is kept
                return
            self._prove(job[2])

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
            self._camera_log.failed(str(exc), self._clock())
            self._submit(FrameProof(ask.proof_id, None, previous, f"camera: {exc}"))
            return
        self._last = stamp  # judged by the domain: a recovery is told by the next probe
        self._submit(FrameProof(ask.proof_id, stamp, previous))

    def _judged(self, stamp: FrameStamp) -> None:
        """Remember ``stamp``; CameraError when it did not advance past the one before."""
        previous, self._last = self._last, stamp
        stuck = not_advanced(previous, stamp) if previous is not None else None
        if stuck is not None:
            raise CameraError(stuck)

    def _watched_age(self, stamp: FrameStamp) -> float | None:
        """How old ``stamp`` is, while someone is let in (the alarm says it); else None."""
        return round(max(0.0, (self._now_ns() - stamp.sensor_ns) / NS), 3) if self._close else None

    def _probe(self) -> None:
        """Read the frame counter only: is the camera alive and advancing? Watched closely,
        the newest frame must also be younger than a second."""
        stamp = None
        try:
            stamp = self._camera.stamp()
            age = self._watched_age(stamp)
            self._judged(stamp)
            if age is not None and age > MAX_FRAME_AGE_S:
                raise CameraError(
                    f"the newest frame is {age:.1f} s old while the door is unlocked or open"
                )
        except CameraError as exc:
            self._camera_fault(exc, self._watched_age(stamp) if stamp else None)
            return
        self._camera_works()

    def _take(self, requests: Sequence[CaptureRequest]) -> None:
        """A photo for each request, stored together, then each reported."""
        try:
            self._shoot_and_store(requests)
        finally:
            presses = sum(request.purpose is Purpose.DOORBELL for request in requests)
            with self._presses_lock:
                self._presses_waiting -= presses

    def _shoot_and_store(self, requests: Sequence[CaptureRequest]) -> None:
        shots = []
        for request in requests:
            self._answer_proofs()
            try:
                shot = self._shoot(request)
            except Exception as exc:  # a bug: this photo fails, the rest of the burst goes on
                log.exception("event=capture_worker_failed")
                self._submit(PhotoFailed(request, f"camera: {exc}"))
                continue
            if shot is not None:
                shots.append(shot)
        if not shots:
            return
        try:
            saved = self._photos.save_all(
                [
                    NewPhoto(
                        shot.photo_id,
                        shot.request.delivery_id,
                        shot.jpeg,
                        shot.request.confidential,
                    )
                    for shot in shots
                ]
            )
        except Exception as exc:  # a bug: each photo is answered, none waits for a timeout
            log.exception("event=photo_store_failed")
            for shot in shots:
                self._submit(PhotoFailed(shot.request, f"storage: {exc}"))
            return
        for shot, path in zip(shots, saved, strict=True):
            if isinstance(path, OSError):  # StorageFull, or the disk itself is full or gone
                log.error(
                    'event=photo_not_stored photo_id=%s error="%s" fix="%s"',
                    shot.photo_id,
                    path,
                    PHOTO_STORE_FIX,
                )
                self._tell(StorageHealth("photos", False))
                self._submit(PhotoFailed(shot.request, f"storage: {path}"))
                continue
            self._tell(StorageHealth("photos", True))
            self._submit(
                PhotoTaken(
                    shot.request,
                    shot.photo_id,
                    hashlib.sha256(shot.jpeg).hexdigest(),
                    len(shot.jpeg),
                    rfc3339(shot.moment),
                    shot.stamp,
                    shot.parcel,
                )
            )

    def _shoot(self, request: CaptureRequest) -> _Shot | None:
        """Capture and encode one photo; None for a camera fault (reported) or a reference."""
        frame = None
        try:
            frame = self._camera.capture()
            self._judged(frame.stamp)
        except CameraError as exc:  # a frozen frame found by a photo says its age too
            self._camera_fault(exc, self._watched_age(frame.stamp) if frame else None)
            self._submit(PhotoFailed(request, f"camera: {exc}"))
            return None
        self._camera_works()
        parcel = self._parcel(request, frame.image)
        if request.purpose is Purpose.REFERENCE:
            return None  # compared later, never kept
        jpeg = masked_jpeg(frame.image, self._masks, self._quality, self._max_bytes)
        moment = datetime.now(UTC)
        return _Shot(request, new_photo_id(moment), jpeg, moment, frame.stamp, parcel)

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
