"""Privacy masks (docs/protocol.md §9): the neighbour's window the simulated camera sees is black
in the photo on disk and in the bytes on the wire, because it is filled before anything is
hashed, stored or sent."""

from __future__ import annotations

import io
import queue
from pathlib import Path

from PIL import Image, ImageStat

from edge.domain.model import CaptureRequest, PhotoTaken, Purpose
from edge.hardware.jpeg import masked_jpeg
from edge.hardware.sim_camera import SimCamera
from edge.store.photos import PhotoStore
from edge.workers.capture import CaptureWorker, PhotoMaking
from tests.inprocess import in_process

# The neighbour's house, across the street on the right of the simulated porch.
NEIGHBOUR = [(0.78, 0.12), (1.0, 0.12), (1.0, 0.78), (0.78, 0.78)]
WINDOW = (0.83, 0.21, 0.94, 0.41)  # inside it: the lit window and the figure at it
PASSER_BY = [(0.0, 0.5), (0.15, 0.5), (0.15, 1.0), (0.0, 1.0)]


def brightness(jpeg: bytes, box: tuple[float, float, float, float]) -> float:
    image = Image.open(io.BytesIO(jpeg))
    w, h = image.size
    region = image.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
    return sum(ImageStat.Stat(region.convert("L")).mean)


def test_a_mask_is_black_and_the_rest_of_the_picture_is_untouched() -> None:
    frame = SimCamera(640, 480, "t").capture()
    plain, masked = (masked_jpeg(frame.image, masks, 85) for masks in ([], [NEIGHBOUR]))
    assert brightness(plain, WINDOW) > 150  # a lit window, someone at it
    assert brightness(masked, WINDOW) < 8
    door = (0.42, 0.3, 0.58, 0.7)
    assert abs(brightness(plain, door) - brightness(masked, door)) < 3


def test_the_photo_on_disk_is_the_masked_one(tmp_path: Path) -> None:
    inbox: queue.Queue = queue.Queue()
    photos = PhotoStore(tmp_path)
    worker = CaptureWorker(
        SimCamera(640, 480, "t"),
        photos,
        inbox.put,
        probe_interval_s=60,
        making=PhotoMaking(masks=[NEIGHBOUR, PASSER_BY]),
    )
    worker.start()
    try:
        worker.request(CaptureRequest(Purpose.DOORBELL, None))
        while not isinstance(taken := inbox.get(timeout=10), PhotoTaken):
            pass
        stored = photos.path(taken.photo_id, None).read_bytes()
        assert brightness(stored, WINDOW) < 8 and brightness(stored, (0.06, 0.62, 0.10, 0.9)) < 8
    finally:
        worker.stop()


def test_photos_on_the_wire_are_masked(tmp_path: Path, cloud_keys, mosquitto) -> None:
    masks = "[privacy]\nmasks = [[[0.78, 0.12], [1.0, 0.12], [1.0, 0.78], [0.78, 0.78]]]\n"
    with in_process(tmp_path, cloud_keys, mosquitto, "porch-mask", masks) as daemon:
        daemon.cloud.publish("sim/doorbell", "press")
        photo = daemon.cloud.wait_for(lambda got: next(iter(got.photos.values()), None))
        assert brightness(photo, WINDOW) < 8
        stored = next((tmp_path / "data" / "photos" / "snapshots").glob("*.jpg")).read_bytes()
        assert stored == photo
