"""`doorstep history` on the data dir of the running daemon: the table, the JSON and the page
show each delivery as the cloud saw it, and an erased photo shows as erased."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from tests.e2e.test_in_home import IN_HOME, unlock

IN_HOME_WITH_DROP_ZONE = IN_HOME + "drop_zone = [0.40, 0.65, 0.60, 0.85]\n"


def history(device, *args: str) -> subprocess.CompletedProcess[str]:
    result = device.doorstep("history", *args)
    assert result.returncode == 0, result.stderr
    return result


class Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.erased = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources.append(dict(attrs)["src"] or "")
        if tag == "span" and dict(attrs).get("class") == "erased":
            self.erased += 1


def test_history_lists_what_happened_while_the_daemon_runs(new_device, tmp_path: Path) -> None:
    device = new_device(IN_HOME_WITH_DROP_ZONE)
    assert "no deliveries yet" in history(device).stdout

    device.send("arriving", device.mint("arriving", delivery_id="D-mat"))
    device.cloud.wait_event("delivery.arriving", delivery_id="D-mat")
    device.sim("parcel", "place")
    device.send("done", device.mint("done", delivery_id="D-mat"))
    mat = device.cloud.wait_event("delivery.completed", delivery_id="D-mat")

    unlock(device, "D-hall")
    device.sim("door", "open")
    device.cloud.wait_event("delivery.door_opened", delivery_id="D-hall")
    device.sim("door", "close")
    hall = device.cloud.wait_event("delivery.completed", delivery_id="D-hall")

    table = history(device).stdout.splitlines()
    assert table[0].split() == [
        "completed",
        "delivery",
        "mode",
        "courier",
        "outcome",
        "photos",
        "parcel",
    ]
    assert [row.split()[2:5] for row in table[1:]] == [
        ["D-mat", "doorstep", "Sam"],
        ["D-hall", "in_home", "Sam"],
    ]
    assert table[1].split()[-3:] == ["delivered", str(len(mat["photos"])), "seen"]
    assert "delivered" in table[2].split()

    listed = json.loads(history(device, "--json").stdout)["deliveries"]
    by_id = {d["delivery_id"]: d for d in listed}
    assert [p["photo_id"] for p in by_id["D-hall"]["photos"]] == hall["photos"]
    assert by_id["D-mat"]["parcel_visible"] is True
    assert by_id["D-mat"]["courier"] == {"id": "courier-7", "name": "Sam Courier"}
    cloud_types = [e["type"] for e in device.events() if e["delivery_id"] == "D-hall"]
    assert [e["type"] for e in by_id["D-hall"]["events"]] == cloud_types
    photo_events = {e["photo_id"]: e for e in device.events("delivery.photo")}
    assert all(
        p["sha256"] == photo_events[p["photo_id"]]["sha256"] for d in listed for p in d["photos"]
    )

    erase = device.doorstep("photos", "erase", "--delivery", "D-mat")
    assert erase.returncode == 0, erase.stderr
    assert f"{len(mat['photos'])} erased" in history(device).stdout.splitlines()[1]

    page = tmp_path / "history.html"
    history(device, "--html", str(page))
    images = Images()
    images.feed(page.read_text(encoding="utf-8"))
    assert images.erased == len(mat["photos"])
    shown = [
        base64.b64decode(src.removeprefix("data:image/jpeg;base64,")) for src in images.sources
    ]
    assert sorted(hashlib.sha256(jpeg).hexdigest() for jpeg in shown) == sorted(
        photo_events[pid]["sha256"] for pid in hall["photos"]
    )

    since = history(device, "--since", "2999-01-01").stdout
    assert since.strip() == "no deliveries since 2999-01-01"
