"""Privacy through the real daemon (docs/protocol.md §9): a delivery's photos erased with
`doorstep photos erase` while the daemon runs."""

from __future__ import annotations

import subprocess
import sys


def test_doorstep_photos_erase_while_the_daemon_runs(new_device) -> None:
    device = new_device()
    device.send("arriving", device.mint("arriving"))
    device.send("done", device.mint("done"))
    device.cloud.wait_event("delivery.completed")
    folder = device.folder / "data" / "photos" / "deliveries" / "D-1"
    assert list(folder.glob("*.jpg"))
    result = subprocess.run([sys.executable, "-m", "edge", "photos", "erase", "--config",
                             str(device.config), "--delivery", "D-1"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "erased 1 photo of delivery D-1" in result.stdout
    erased = device.cloud.wait_event("photo.erased", delivery_id="D-1", timeout=20)
    assert len(erased["photo_ids"]) == 1 and not folder.exists()
