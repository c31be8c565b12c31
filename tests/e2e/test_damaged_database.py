"""A damaged database (a failing SD card) through the real daemon: every pass is still
answered, the state says `storage: fault` and the log says how to recover; `doorstep repair`
keeps the device key and what can be read, and a pass that may have been used before the
damage never works again."""

from __future__ import annotations

import time
from pathlib import Path

from edge.store.db import FILE_NAME, open_store
from edge.store.replay import ReplayStore

PAGE = 1024


def fill_used_passes(data_dir: Path, count: int = 3000) -> None:
    db = open_store(data_dir)
    try:
        with db.transaction() as conn:
            for n in range(count):
                ReplayStore.record(conn, f"old-{n:05d}", time.time() + 86400)
    finally:
        db.close()


def damage(path: Path, from_page: int) -> None:
    """Overwrite every page from ``from_page`` on (1-based) with garbage, as a card that lost
    them would."""
    data = bytearray(path.read_bytes())
    for start in range((from_page - 1) * PAGE, len(data), PAGE):
        data[start : start + PAGE] = bytes([0xA5]) * PAGE
    path.write_bytes(bytes(data))


def test_a_damaged_page_still_answers_every_pass_and_says_storage_fault(new_device) -> None:
    device = new_device(start=False)
    data = device.folder / "data"
    fill_used_passes(data)
    damage(data / FILE_NAME, from_page=12)  # the used passes' leaves; the rest is readable
    device.start()
    for n in range(3):  # before: each raised inside the intake and got no answer at all
        device.send("arriving", device.mint("arriving", jti=f"after-{n}", delivery_id=f"D-{n}"))
        rejected = device.rejected("storage_error", jti=f"after-{n}")
        assert "malformed" in rejected["detail"]
    device.cloud.wait_event("alarm.storage_fault")
    assert device.cloud.wait_state(storage="fault")["lock"] == "locked"
    assert "doorstep repair" in device.daemon.log_text()


def test_a_damaged_header_is_named_and_repair_brings_the_device_back(new_device) -> None:
    device = new_device(start=False)
    data = device.folder / "data"
    device.start()
    used = device.mint("arriving", jti="used-before")
    device.send("arriving", used)
    device.cloud.wait_event("delivery.arriving")
    device.daemon.terminate()
    key = (data / "device_key.pem").read_bytes()
    damage(data / FILE_NAME, from_page=1)
    started = device.doorstep("run")
    assert started.returncode == 1
    assert "damaged" in started.stderr and "doorstep repair" in started.stderr
    assert "can write" not in started.stderr  # it used to blame the folder's permissions
    repaired = device.doorstep("repair")
    assert repaired.returncode == 0, repaired.stderr
    assert "refused as replayed" in repaired.stdout
    assert (data / "device_key.pem").read_bytes() == key
    device.start()
    device.send("arriving", used)  # the same pass again: its use was lost with the database
    device.rejected("replayed", jti="used-before")
    device.send(
        "arriving", device.mint("arriving", jti="new-one", delivery_id="D-3", now=time.time() + 5)
    )
    device.cloud.wait_event("delivery.arriving", delivery_id="D-3")
