"""The camera worker with the Pillow camera and real files: health follows real frames, and a
photo is on disk before the core hears of it."""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any

from edge.domain.camera import NS, not_advanced
from edge.domain.model import (
    CameraHealth,
    CaptureRequest,
    FrameProof,
    PhotoFailed,
    PhotoTaken,
    ProveCamera,
    Purpose,
)
from edge.hardware import Frame
from edge.hardware.sim_camera import SimCamera
from edge.store.photos import PhotoStore
from edge.workers.capture import MAX_WAITING_PRESSES, CaptureWorker
from tests.waiting import wait_until


def next_of(inbox: queue.Queue, kind: type | tuple[type, ...], timeout: float = 10):
    while True:
        item = inbox.get(timeout=timeout)
        if isinstance(item, kind):
            return item


def started_with_burst(
    camera: SimCamera, photos: PhotoStore, inbox: queue.Queue, count: int = 3
) -> CaptureWorker:
    """A worker whose first job is a burst of ``count`` doorbell photos (queued before it
    runs, so it takes them together)."""
    worker = CaptureWorker(camera, photos, inbox.put, probe_interval_s=60)
    for _ in range(count):
        worker.request(CaptureRequest(Purpose.DOORBELL, None))
    return worker


def said_until(inbox: queue.Queue, done) -> list:
    """What the worker said, up to the first item for which ``done(said so far)`` holds."""
    said = [inbox.get(timeout=10)]
    while not done(said):
        said.append(inbox.get(timeout=10))
    return said


def test_photos_are_stored_before_they_are_reported(tmp_path: Path) -> None:
    photos = PhotoStore(tmp_path)
    inbox: queue.Queue = queue.Queue()
    worker = CaptureWorker(SimCamera(320, 240, "t"), photos, inbox.put, probe_interval_s=60)
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


def test_a_burst_is_stored_together_and_each_photo_reported(tmp_path: Path) -> None:
    photos = PhotoStore(tmp_path)
    inbox: queue.Queue = queue.Queue()
    worker = started_with_burst(SimCamera(320, 240, "t"), photos, inbox, count=12)
    worker.prove(ProveCamera(1, not_before=time.monotonic()))
    worker.start()
    try:
        said = said_until(inbox, lambda s: sum(isinstance(t, PhotoTaken) for t in s) == 12)
        taken = [t for t in said if isinstance(t, PhotoTaken)]
        assert isinstance(said[0], FrameProof)  # an unlock waits on it: first in line
        assert len({t.photo_id for t in taken}) == 12
        for photo in taken:
            data = photos.path(photo.photo_id, None).read_bytes()
            assert hashlib.sha256(data).hexdigest() == photo.sha256
    finally:
        worker.stop()


def test_a_proof_asked_for_during_a_burst_is_answered_before_the_bursts_photos(tmp_path) -> None:
    inbox: queue.Queue = queue.Queue()
    asked: list[Any] = []

    class Camera(SimCamera):
        def capture(self, after_ns: int | None = None) -> Frame:
            # the courier's at_door comes while the first photo is taken
            if not asked:
                asked.append(worker.prove(ProveCamera(1, not_before=time.monotonic())))
            return super().capture(after_ns)

    worker = started_with_burst(Camera(320, 240, "t"), PhotoStore(tmp_path), inbox)
    worker.start()
    try:
        said = said_until(inbox, lambda s: isinstance(s[-1], (FrameProof, PhotoTaken)))
        assert isinstance(said[-1], FrameProof)
    finally:
        worker.stop()


def test_a_photo_that_fails_unexpectedly_fails_alone_in_its_burst(tmp_path: Path) -> None:
    inbox: queue.Queue = queue.Queue()
    calls = []

    class Camera(SimCamera):
        def capture(self, after_ns: int | None = None) -> Frame:
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("driver bug")
            return super().capture(after_ns)

    worker = started_with_burst(Camera(320, 240, "t"), PhotoStore(tmp_path), inbox)
    worker.start()
    try:
        answers = [next_of(inbox, (PhotoTaken, PhotoFailed)) for _ in range(3)]
        assert sorted(type(a).__name__ for a in answers) == [
            "PhotoFailed",
            "PhotoTaken",
            "PhotoTaken",
        ]
        assert [a.error for a in answers if isinstance(a, PhotoFailed)] == ["camera: driver bug"]
    finally:
        worker.stop()


def test_a_burst_the_store_fails_on_unexpectedly_is_answered_photo_by_photo(tmp_path) -> None:
    """Not left for the delivery's photo timeout: each photo of the burst is a PhotoFailed."""
    inbox: queue.Queue = queue.Queue()

    class Store(PhotoStore):
        def save_all(self, photos):
            raise ValueError("index bug")

    worker = started_with_burst(SimCamera(320, 240, "t"), Store(tmp_path), inbox)
    worker.start()
    try:
        failed = [next_of(inbox, (PhotoTaken, PhotoFailed)) for _ in range(3)]
        assert [a.error for a in failed] == ["storage: index bug"] * 3
    finally:
        worker.stop()


def test_a_dead_camera_is_logged_once_with_its_fix_then_its_recovery(tmp_path, caplog) -> None:
    """Probing every few milliseconds, a dead camera still makes one line (reminders are a
    minute apart), and the line says what it stops and how to fix it."""
    camera = SimCamera(320, 240, "t")
    probes = []

    class Counted(SimCamera):
        def stamp(self, after_ns=None):
            probes.append(1)
            return camera.stamp(after_ns)

    inbox: queue.Queue = queue.Queue()
    worker = CaptureWorker(
        Counted(320, 240, "t"),
        PhotoStore(tmp_path),
        inbox.put,
        probe_interval_s=0.005,
        camera_fix="publish ok on sim/camera",
    )
    caplog.set_level(logging.INFO, logger="edge.workers.capture")
    camera.set_mode("fail")
    worker.start()
    try:
        wait_until(lambda: len(probes) >= 20, "twenty probes of the dead camera")
        faults = [r for r in caplog.records if "camera_" in r.getMessage()]
        assert len(faults) == 1 and faults[0].levelno == logging.ERROR
        assert faults[0].getMessage().startswith("event=camera_fault error=")
        assert 'stops="in-home deliveries and owner unlocks are refused' in faults[0].getMessage()
        assert 'fix="publish ok on sim/camera"' in faults[0].getMessage()
        camera.set_mode("ok")
        wait_until(
            lambda: any("event=camera_recovered" in r.getMessage() for r in caplog.records),
            "the recovery's line",
        )
    finally:
        worker.stop()


def test_a_failing_or_frozen_camera_is_a_fault_until_frames_advance(tmp_path: Path) -> None:
    camera = SimCamera(320, 240, "t")
    inbox: queue.Queue = queue.Queue()
    worker = CaptureWorker(camera, PhotoStore(tmp_path), inbox.put, probe_interval_s=60)
    worker.start()  # probes at once
    try:
        assert next_of(inbox, CameraHealth) == CameraHealth(True)
        camera.set_mode("freeze")
        worker.probe_now()
        frozen = next_of(inbox, CameraHealth)
        assert not frozen.ok and "frame counter stopped" in (frozen.detail or "")
        worker.request(CaptureRequest(Purpose.DOORBELL, None))
        assert "frame counter stopped" in next_of(inbox, PhotoFailed).error
        camera.set_mode("fail")
        worker.request(CaptureRequest(Purpose.DOORBELL, None))
        assert "delivers no frames" in next_of(inbox, PhotoFailed).error
        camera.set_mode("ok")
        worker.probe_now()
        assert next_of(inbox, CameraHealth) == CameraHealth(True)
        worker.request(CaptureRequest(Purpose.DOORBELL, None))
        said = said_until(inbox, lambda s: isinstance(s[-1], PhotoTaken))
        assert not [h for h in said if isinstance(h, CameraHealth)]  # told once per change
    finally:
        worker.stop()


def test_a_proof_is_a_frame_captured_after_the_request_newer_than_the_last(tmp_path) -> None:
    camera = SimCamera(320, 240, "t")
    inbox: queue.Queue = queue.Queue()
    worker = CaptureWorker(camera, PhotoStore(tmp_path), inbox.put, probe_interval_s=60)
    worker.start()
    try:
        asked = time.monotonic()
        worker.prove(ProveCamera(1, not_before=asked))
        proof = next_of(inbox, FrameProof)
        assert proof.proof_id == 1 and proof.frame.sensor_ns >= asked * NS
        assert not_advanced(proof.previous, proof.frame) is None

        camera.set_mode("freeze")
        worker.prove(ProveCamera(2, not_before=time.monotonic()))
        frozen = next_of(inbox, FrameProof)
        assert frozen.frame == frozen.previous  # the facts; the domain refuses them
        camera.set_mode("fail")
        worker.prove(ProveCamera(3, not_before=time.monotonic()))
        failed = next_of(inbox, FrameProof)
        assert failed.frame is None and "no frames" in failed.error
    finally:
        worker.stop()


def test_the_first_proof_after_start_compares_two_fresh_frames(tmp_path) -> None:
    inbox: queue.Queue = queue.Queue()
    worker = CaptureWorker(
        SimCamera(320, 240, "t"), PhotoStore(tmp_path), inbox.put, probe_interval_s=60
    )
    worker.prove(ProveCamera(1, not_before=time.monotonic()))  # queued before the first probe
    worker.start()
    try:
        proof = next_of(inbox, FrameProof)
        assert proof.previous is not None and not_advanced(proof.previous, proof.frame) is None
    finally:
        worker.stop()


class GatedCamera(SimCamera):
    """Holds its first use (the probe at start) until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__(320, 240, "t")
        self.gate, self.held = threading.Event(), threading.Event()

    def stamp(self, after_ns=None):
        if not self.held.is_set():
            self.held.set()
            assert self.gate.wait(10)
        return super().stamp(after_ns)


def test_a_proof_goes_before_photos_already_queued(tmp_path) -> None:
    camera = GatedCamera()
    inbox: queue.Queue = queue.Queue()
    worker = CaptureWorker(camera, PhotoStore(tmp_path), inbox.put, probe_interval_s=60)
    worker.start()  # its first probe holds the camera
    try:
        assert camera.held.wait(10)
        for _ in range(3):
            worker.request(CaptureRequest(Purpose.DOOR_OPEN, "D-1"))
        worker.prove(ProveCamera(1, not_before=time.monotonic()))
        camera.gate.set()
        order: list[Any] = []
        while len(order) < 4:
            item = inbox.get(timeout=10)
            if isinstance(item, (FrameProof, PhotoTaken)):
                order.append(type(item).__name__)
        assert order[0] == "FrameProof", order
    finally:
        camera.gate.set()
        worker.stop()


def test_a_mashed_doorbell_never_buries_a_deliverys_photo(tmp_path: Path) -> None:
    """A hundred presses while the camera is busy: the first MAX_WAITING_PRESSES wait for a
    photo, the rest are answered at once without one (the press is still told), and a
    delivery's confirmation asked for after them all is taken first."""
    photos = PhotoStore(tmp_path)
    inbox: queue.Queue = queue.Queue()
    worker = CaptureWorker(SimCamera(320, 240, "t"), photos, inbox.put, probe_interval_s=60)
    for _ in range(100):  # queued before the worker runs: as if the camera were busy
        worker.request(CaptureRequest(Purpose.DOORBELL, None))
    busy = [inbox.get_nowait() for _ in range(inbox.qsize())]
    assert len(busy) == 100 - MAX_WAITING_PRESSES
    assert all(isinstance(b, PhotoFailed) and "camera busy" in b.error for b in busy)
    confirmation = CaptureRequest(Purpose.CONFIRMATION, "D-1")
    worker.request(confirmation)
    worker.start()
    try:
        first = next_of(inbox, PhotoTaken)
        assert first.request == confirmation
        taken = 1 + sum(
            isinstance(item, PhotoTaken)
            for item in said_until(
                inbox,
                lambda said: sum(isinstance(s, PhotoTaken) for s in said) == MAX_WAITING_PRESSES,
            )
        )
        assert taken == MAX_WAITING_PRESSES + 1
        worker.request(CaptureRequest(Purpose.DOORBELL, None))  # room again once they are done
        assert next_of(inbox, PhotoTaken).request.purpose is Purpose.DOORBELL
    finally:
        worker.stop()


class LaggingCamera(SimCamera):
    """Frames whose counter advances but whose sensor time lags ``lag_s`` behind: a pipeline
    handing out stale buffers."""

    def __init__(self, lag_s: float) -> None:
        super().__init__(64, 48, "lag")
        self.lag_ns = int(lag_s * NS)

    def stamp(self, after_ns=None):
        stamp = super().stamp(after_ns)
        return type(stamp)(stamp.sequence, stamp.sensor_ns - self.lag_ns)


def test_while_someone_is_let_in_a_frame_older_than_a_second_is_a_fault(tmp_path: Path) -> None:
    inbox: queue.Queue = queue.Queue()
    camera = LaggingCamera(lag_s=2.5)
    worker = CaptureWorker(camera, PhotoStore(tmp_path), inbox.put, probe_interval_s=60)
    worker.start()
    try:
        assert next_of(inbox, CameraHealth) == CameraHealth(True)  # idle: frames advance
        worker.watch(True)  # the door is unlocked: the newest frame must be fresh
        health = next_of(inbox, CameraHealth)
        assert not health.ok and health.frame_age_s is not None and health.frame_age_s >= 2.5
        assert "s old while the door is unlocked or open" in (health.detail or "")
        camera.lag_ns = 0
        assert next_of(inbox, CameraHealth) == CameraHealth(True)  # probed 4 times a second
    finally:
        worker.stop()
