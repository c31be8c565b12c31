"""A doorstep delivery through the real daemon process, as the cloud and courier see it."""

from __future__ import annotations

import hashlib
import re
import time

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_full_doorstep_delivery(device) -> None:
    state = device.cloud.wait_state(
        lock="locked", door="closed", camera="ok", clock="synced", delivery=None
    )
    assert state["in_home_enabled"] is False and state["version"] == "0.1.0"

    device.send("arriving", device.mint("arriving", courier={"id": "c9", "name": "Ana"}))
    arriving = device.cloud.wait_event("delivery.arriving", delivery_id="D-1")
    assert (arriving["mode"], arriving["courier"], arriving["confidential"]) == (
        "doorstep",
        {"id": "c9", "name": "Ana"},
        False,
    )
    device.cloud.wait_state(delivery={"id": "D-1", "mode": "doorstep", "phase": "waiting"})

    device.sim("doorbell", "press")
    bell = device.cloud.wait_event("doorbell.pressed", delivery_id="D-1")
    device.send("at_door", device.mint("at_door"))
    device.cloud.wait_event("delivery.photo", purpose="at_door")
    device.send("done", device.mint("done"))
    completed = device.cloud.wait_event("delivery.completed", delivery_id="D-1")
    assert completed["outcome"] == "delivered" and completed["mode"] == "doorstep"
    assert bell["photo_id"] in completed["photos"] and len(completed["photos"]) == 3

    got = device.cloud.wait_for(
        lambda r: all(p in r.photos for p in completed["photos"]) and r,
        what="the delivery's photos",
    )
    for photo in device.events("delivery.photo"):
        data = got.photos[photo["photo_id"]]
        assert hashlib.sha256(data).hexdigest() == photo["sha256"]
        assert len(data) == photo["bytes"] and data[:2] == b"\xff\xd8"
        assert photo["local_only"] is False
        assert got.photo_topics[photo["photo_id"]] == (
            f"doorstep/{device.device_id}/photos/D-1/{photo['photo_id']}"
        )
    device.cloud.wait_state(delivery=None, lock="locked")

    events = device.events()
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})
    assert len({e["id"] for e in events}) == len(events)
    for event in events:
        assert event["device_id"] == device.device_id
        assert RFC3339_UTC.match(event["ts"]), event["ts"]


def test_doorbell_without_a_delivery_sends_a_snapshot(device) -> None:
    device.sim("doorbell", "press")
    pressed = device.cloud.wait_event("doorbell.pressed")
    assert pressed["delivery_id"] is None and pressed["photo_id"]
    got = device.cloud.wait_for(lambda r: pressed["photo_id"] in r.photos and r, what="snapshot")
    assert got.photo_topics[pressed["photo_id"]] == (
        f"doorstep/{device.device_id}/snapshots/{pressed['photo_id']}"
    )


def test_confidential_delivery_photos_never_leave_the_device(device) -> None:
    device.send("arriving", device.mint("arriving", confidential=True))
    device.cloud.wait_event("delivery.arriving", confidential=True)
    device.send("done", device.mint("done"))
    completed = device.cloud.wait_event("delivery.completed")
    photo = device.cloud.wait_event("delivery.photo")
    assert photo["local_only"] is True and completed["photos"] == [photo["photo_id"]]
    # The pass after it proves the pipeline has moved past the photo: still nothing published.
    device.send("cancel", device.mint("cancel", delivery_id="D-none"))
    device.rejected("unknown_delivery")
    assert device.cloud.received.photos == {}
    stored = list((device.folder / "data" / "photos").rglob("*.jpg"))
    assert [p.stem for p in stored] == [photo["photo_id"]]


def test_cancel_and_expiry(device) -> None:

    device.send("arriving", device.mint("arriving", delivery_id="D-c"))
    device.cloud.wait_event("delivery.arriving", delivery_id="D-c")
    device.send("cancel", device.mint("cancel", delivery_id="D-c"))
    completed = device.cloud.wait_event("delivery.completed", delivery_id="D-c")
    assert completed["outcome"] == "cancelled"

    device.send(
        "arriving", device.mint("arriving", delivery_id="D-x", lifetime_s=2, now=time.time() - 1)
    )
    device.cloud.wait_event("delivery.arriving", delivery_id="D-x")
    expired = device.cloud.wait_event("delivery.completed", delivery_id="D-x", timeout=10)
    assert expired["outcome"] == "expired"


def test_a_dead_camera_is_reported_and_the_delivery_still_completes(device) -> None:
    device.send("arriving", device.mint("arriving"))
    device.cloud.wait_event("delivery.arriving")
    device.sim("camera", "fail")
    device.cloud.wait_event("alarm.camera_fault", delivery_id="D-1")
    device.cloud.wait_state(camera="fault")
    device.send("done", device.mint("done"))
    assert device.cloud.wait_event("delivery.completed")["photos"] == []
    device.sim("camera", "ok")
    device.cloud.wait_state(camera="ok")


def test_a_small_outbox_quota_is_not_filled_by_what_was_already_sent(new_device) -> None:
    """The quota once counted SQLite's write-ahead log: with the broker up and nothing waiting,
    `alarm.storage_full` fired and doorbell snapshots were dropped."""
    device = new_device("outbox_quota_mb = 0.25\n")  # extra keys land in [storage]
    for press in range(40):
        device.sim("doorbell", "press")
        device.cloud.wait_for(
            lambda got, press=press: len(got.photos) > press, what=f"snapshot {press + 1}"
        )
    assert device.events("alarm.storage_full") == []
    device.cloud.wait_state(storage="ok")
