"""The camera worker: takes photos off the core thread, stores each JPEG before reporting it,
and probes the camera while idle so `state.camera` reflects frames really arriving: a capture
that fails, or a frame counter that stops advancing, is a fault."""

from __future__ import annotations

import hashlib
import logging
import queue
import secrets
import threading
from datetime import datetime, timezone
from typing import Callable

from edge.domain.model import (
    CameraHealth, CaptureRequest, Input, PhotoFailed, PhotoTaken, StorageHealth,
)
from edge.hardware import Camera, CameraError
from edge.hardware.jpeg import fit_jpeg
from edge.store.photos import PhotoStore

log = logging.getLogger(__name__)

PROBE_INTERVAL_S = 5.0


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_photo_id(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


class CaptureWorker:
    def __init__(self, camera: Camera, photos: PhotoStore, submit: Callable[[Input], None],
                 probe_interval_s: float = PROBE_INTERVAL_S,
                 max_bytes: int | None = None) -> None:
        self._camera = camera
        self._photos = photos
        self._submit = submit
        self._probe_interval = probe_interval_s
        self._max_bytes = max_bytes  # fitted here, before hashing, so every copy has one sha256
        self._requests: queue.Queue[CaptureRequest | None] = queue.Queue()
        self._last_sequence: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request(self, request: CaptureRequest) -> None:
        self._requests.put(request)

    def probe_now(self) -> None:
        """Check the camera at once (after `sim/camera`), rather than at the next idle probe."""
        self._requests.put(None)

    def stop(self) -> None:
        self._stop.set()
        self._requests.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                request = self._requests.get(timeout=self._probe_interval)
            except queue.Empty:
                request = None
            if self._stop.is_set():
                return
            try:
                self._take(request)
            except Exception:
                log.exception("event=capture_worker_failed")

    def _fresh_frame(self) -> bytes:
        frame = self._camera.capture()
        if self._last_sequence is not None and frame.sequence <= self._last_sequence:
            raise CameraError(f"frame counter stopped advancing at {frame.sequence}")
        self._last_sequence = frame.sequence
        return frame.jpeg

    def _take(self, request: CaptureRequest | None) -> None:
        try:
            jpeg = self._fresh_frame()
        except CameraError as exc:
            log.error("event=camera_fault error=%s", exc)
            self._submit(CameraHealth(False))
            if request is not None:
                self._submit(PhotoFailed(request, f"camera: {exc}"))
            return
        self._submit(CameraHealth(True))  # the domain ignores no-change
        if request is None:
            return
        if self._max_bytes is not None:
            jpeg = fit_jpeg(jpeg, self._max_bytes)
        moment = datetime.now(timezone.utc)
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
                                rfc3339(moment)))
