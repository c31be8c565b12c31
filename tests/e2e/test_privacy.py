"""Privacy through the real daemon (docs/protocol.md §9): a delivery's photos erased with
`doorstep photos erase` while the daemon runs."""

from __future__ import annotations

import os
import subprocess
import sys


def test_doorstep_photos_erase_while_the_daemon_runs(new_device) -> None:
    device = new_device()
    device.send("arriving", device.mint("arriving"))
    device.send("done", device.mint("done"))
    device.cloud.wait_event("delivery.completed")
    folder = device.folder / "data" / "photos" / "deliveries" / "D-1"
    assert list(folder.glob("*.jpg"))
    result = device.doorstep("photos", "erase", "--delivery", "D-1")
    assert result.returncode == 0 and "erased 1 photo of delivery D-1" in result.stdout
    erased = device.cloud.wait_event("photo.erased", delivery_id="D-1", timeout=20)
    assert len(erased["photo_ids"]) == 1 and not folder.exists()


def test_receipts_verify_and_chain_across_a_kill_9(new_device, tmp_path) -> None:
    device = new_device()
    for delivery_id in ("D-1", "D-2"):
        device.send("arriving", device.mint("arriving", delivery_id=delivery_id))
        device.send("done", device.mint("done", delivery_id=delivery_id))
        device.cloud.wait_for(
            lambda got, delivery_id=delivery_id: delivery_id in got.receipts,
            what=f"receipt {delivery_id}",
        )
        if delivery_id == "D-1":
            device.daemon.kill()  # the chain's head is in the database, not in memory
            device.start()
    key = device.cloud.wait_for(lambda got: got.retained.get("device_key"))
    printed = device.doorstep("device-key")
    assert printed.stdout.encode() == key and key.startswith(b"-----BEGIN PUBLIC KEY-----")

    received = device.cloud.received
    photos = tmp_path / "photos"
    photos.mkdir()
    for photo_id, data in received.photos.items():
        (photos / f"{photo_id}.jpg").write_bytes(data)
    files = []
    for delivery_id in received.receipt_order:
        files.append(tmp_path / f"{delivery_id}.jws")
        files[-1].write_text(received.receipts[delivery_id])
    (tmp_path / "device.pem").write_bytes(key)
    command = [
        sys.executable,
        "-m",
        "simulator.cli",
        "verify-receipt",
        "--key",
        str(tmp_path / "device.pem"),
        *map(str, files),
        "--photos",
        str(photos),
    ]
    good = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "ok: 2 receipts, 2 photos checked" in good.stdout, good.stdout

    next(photos.iterdir()).write_bytes(b"a different picture")
    bad = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "is not the photo the receipt lists" in bad.stdout


DROP_ZONE = "[delivery]\ndrop_zone = [0.40, 0.65, 0.60, 0.85]\n"  # the doormat


def test_a_parcel_left_on_the_mat_is_seen_and_none_is_not(new_device) -> None:
    device = new_device(DROP_ZONE)
    device.send("arriving", device.mint("arriving", delivery_id="D-parcel"))
    device.wait_log("event=drop_zone_seen delivery_id=D-parcel")  # the empty mat
    device.sim("parcel", "place")  # the courier leaves it
    device.send("done", device.mint("done", delivery_id="D-parcel"))
    left = device.cloud.wait_event("delivery.completed", delivery_id="D-parcel")
    assert left["parcel_visible"] is True

    device.send("arriving", device.mint("arriving", delivery_id="D-none"))  # the mat is full now
    device.cloud.wait_event("delivery.arriving", delivery_id="D-none")
    device.send("done", device.mint("done", delivery_id="D-none"))  # and nothing changed
    assert (
        device.cloud.wait_event("delivery.completed", delivery_id="D-none")["parcel_visible"]
        is False
    )


def test_without_a_drop_zone_nothing_is_claimed(new_device) -> None:
    device = new_device()
    device.send("arriving", device.mint("arriving"))
    device.send("done", device.mint("done"))
    assert "parcel_visible" not in device.cloud.wait_event("delivery.completed")


def test_what_the_daemon_writes_is_its_own_whatever_umask_it_was_given(new_device) -> None:
    # Started from a shell with the usual umask 022 (not the unit's 0077): photos and the
    # database were readable by every user of the Pi.

    previous = os.umask(0o022)
    try:
        device = new_device()
    finally:
        os.umask(previous)
    device.sim("doorbell", "press")
    photo_id = device.cloud.wait_event("doorbell.pressed")["photo_id"]
    data = device.folder / "data"
    photo = data / "photos" / "snapshots" / f"{photo_id}.jpg"
    for path in (photo, data / "doorstep.sqlite", data / "device_key.pem"):
        assert path.stat().st_mode & 0o077 == 0, f"{path} is {oct(path.stat().st_mode)}"
