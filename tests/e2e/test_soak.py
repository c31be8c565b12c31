"""A long run of in-home deliveries (`pytest -m slow`): the daemon's memory stops growing.
Once it grew by about 4 KB a delivery (gpiozero's mock pins kept every edge, SQLite's caches
grew with the files): 2.4 MB over the measured stretch. Now no Python object grows (checked
with tracemalloc); what is left is SQLite's bounded page caches (3 x 512 KiB) and the
allocator settling, seen as one step of about 1 MB. The photo quota is small so the photo
index is at its bound too."""

from __future__ import annotations

import pytest

SOAK = """photos_quota_mb = 2
[delivery]
in_home_enabled = true
relock_delay_s = 0
lock_verify_s = 1
photo_interval_s = 60
"""
WARM_UP, MEASURED = 600, 600


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))


@pytest.mark.slow
def test_memory_stops_growing_over_a_thousand_deliveries(new_device) -> None:
    device = new_device(SOAK)

    def deliveries(first: int, count: int) -> None:
        for number in range(first, first + count):
            delivery_id = f"D-{number}"
            device.send(
                "arriving", device.mint("arriving", delivery_id=delivery_id, mode="in_home")
            )
            device.send("at_door", device.mint("at_door", delivery_id=delivery_id))
            device.cloud.wait_event("delivery.unlocked", delivery_id=delivery_id, timeout=30)
            device.sim("door", "open")
            device.sim("door", "close")
            device.cloud.wait_event("delivery.completed", delivery_id=delivery_id, timeout=30)
            device.cloud.forget()  # the test's own memory is not the daemon's

    deliveries(0, WARM_UP)
    warm = rss_kib(device.process.pid)
    deliveries(WARM_UP, MEASURED)
    grown = rss_kib(device.process.pid) - warm
    assert grown < 1536, f"RSS grew {grown} KiB over {MEASURED} more deliveries"
