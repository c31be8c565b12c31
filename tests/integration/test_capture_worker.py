"""The camera worker with the Pillow camera and real files: health follows real frames, and a
photo is on disk before the core hears of it."""

from __future__ import annotations

import hashlib
import queue
from pathlib import Path

from edge.capture import CaptureWorker
from edge.domain.model import CameraHealth, CaptureRequest, PhotoFailed, PhotoTaken, Purpose
from edge.hardware.sim_camera import SimCamera
from edge.store.photos import PhotoStore


def next_of(inbox: queue.Queue, kind: type, timeout: float = 10):
    while True:
        item = inbox.get(timeout=timeout)
        if isinstance(item, kind):
            return item


def test_photos_are_stored_before_they_are_reported(tmp_path: Path) -> None:
    photos = PhotoStore(tmp_path)
    inbox: queue.Queue = queue.Queue()
    worker = CaptureWorker(SimCamera(320, 240, 80, "t"), photos, inbox.put, probe_interval_s=60)
    worker.start()
    try:
        request = CaptureRequest(Purpose.CONFIRMATION, "D-1")
        worker.request(request)
        taken = next_of(inbox, PhotoTaken)
        data = photos.path(taken.photo_id, "D-1").read_bytes()
        assert taken.request == request
        assert hashlib.sha256(data).hexdigest() == taken.sha256 and len(data) == taken.size
    finally:
        worker.stop()


def test_a_failing_or_frozen_camera_is_a_fault_until_frames_advance(tmp_path: Path) -> None:
    camera = SimCamera(320, 240, 80, "t")
    inbox: queue.Queue = queue.Queue()
    worker = CaptureWorker(camera, PhotoStore(tmp_path), inbox.put, probe_interval_s=60)
    worker.start()
    try:
        worker.probe_now()
        assert next_of(inbox, CameraHealth) == CameraHealth(True)
        camera.set_mode("freeze")
        worker.probe_now()
        assert next_of(inbox, CameraHealth) == CameraHealth(False)
        worker.request(CaptureRequest(Purpose.DOORBELL, None))
        assert "frame counter stopped" in next_of(inbox, PhotoFailed).error
        camera.set_mode("fail")
        worker.probe_now()
        assert next_of(inbox, CameraHealth) == CameraHealth(False)
        camera.set_mode("ok")
        worker.probe_now()
        assert next_of(inbox, CameraHealth) == CameraHealth(True)
    finally:
        worker.stop()
