"""Clips through the real daemon, as the cloud, the homeowner and a browser see them: an
in-home delivery is filmed from before its unlock to after its relock, the clip comes over
MQTT in chunks that join into the MP4 its event hashes, its receipt lists it, a doorbell press
is filmed too, a confidential delivery's clip stays home, erase removes clips, and the history
page plays them in headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import io
from html.parser import HTMLParser
from pathlib import Path

import av
import pytest

from simulator.device import DeviceUnderTest, Setup
from simulator.receipts import verify_receipts
from tests.chromium import CHROMIUM, VIDEO_PROBE, played
from tests.e2e.test_in_home import IN_HOME, unlock

# Chunks of 16 KiB (the smallest broker cap allowed), so even a short clip comes in several.
SMALL_BROKER = "max_payload_bytes = 16384\n"
FILMED = IN_HOME + "\n[video]\npre_s = 2\npost_s = 1\nfps = 10\n"


def filmed_delivery(device, delivery_id: str = "D-1") -> dict:
    unlock(device, delivery_id)
    device.sim("door", "open")
    device.cloud.wait_event("delivery.door_opened", delivery_id=delivery_id)
    device.sim("door", "close")
    return device.cloud.wait_event("delivery.completed", delivery_id=delivery_id, timeout=30)


def frames_of(mp4: bytes) -> list[av.VideoFrame]:
    with av.open(io.BytesIO(mp4), "r") as container:
        return list(container.decode(video=0))


def test_an_in_home_delivery_is_filmed_and_its_clip_comes_whole_in_chunks(new_device) -> None:
    device = new_device(FILMED)
    device.cloud.wait_state(in_home_enabled=True)
    completed = filmed_delivery(device)
    [clip] = device.events("delivery.clip")
    assert completed["clips"] == [clip["clip_id"]]
    assert clip["purpose"] == "delivery" and not clip["camera_fault"] and not clip["local_only"]
    data = device.cloud.wait_for(lambda got: got.clip(clip["clip_id"]), what="every chunk")
    assert hashlib.sha256(data).hexdigest() == clip["sha256"]
    frames = frames_of(data)
    first, last = clip["frames"]
    assert len(frames) >= 10 and last - first >= len(frames) - 1
    # It begins before the unlock: its first frame is older than the unlock's event.
    unlocked = device.cloud.wait_event("delivery.unlocked")
    assert clip["started_at"] < unlocked["ts"]

    device.cloud.wait_for(lambda got: "D-1" in got.receipts, what="the receipt")
    got = device.cloud.received
    device.cloud.wait_for(lambda got: got.retained.get("device_key"), what="the device key")
    verdict = verify_receipts(
        got.retained["device_key"], [got.receipts["D-1"]], got.photos, clips={clip["clip_id"]: data}
    )
    assert verdict.ok and verdict.clips_checked == 1, verdict.problems
    [listed] = verdict.receipts[0]["clips"]
    assert (listed["clip_id"], listed["sha256"]) == (clip["clip_id"], clip["sha256"])


def test_small_chunks_for_a_broker_that_caps_messages(
    tmp_path: Path, cloud_keys, mosquitto
) -> None:
    setup = Setup(device_id="porch-small", extra_config=FILMED, mqtt_extra=SMALL_BROKER)
    device = DeviceUnderTest(tmp_path, cloud_keys, mosquitto, setup).start()
    try:
        filmed_delivery(device)
        chunks_of_the_clip(device)
    finally:
        device.stop()


def chunks_of_the_clip(device: DeviceUnderTest) -> None:
    [clip] = device.events("delivery.clip")
    data = device.cloud.wait_for(lambda got: got.clip(clip["clip_id"]), what="every chunk")
    chunks = device.cloud.received.clip_chunks[clip["clip_id"]]
    assert len(chunks) == -(-len(data) // 16384) >= 2
    assert all(len(chunk) <= 16384 for chunk in chunks.values())


def test_a_doorbell_press_is_filmed_as_a_snapshot(device) -> None:
    device.sim("doorbell", "press")
    clip = device.cloud.wait_event("doorbell.clip", timeout=20)
    assert clip["delivery_id"] is None and clip["purpose"] == "doorbell"
    data = device.cloud.wait_for(lambda got: got.clip(clip["clip_id"]), what="every chunk")
    assert hashlib.sha256(data).hexdigest() == clip["sha256"] and frames_of(data)
    topics = device.cloud.received.clip_chunks[clip["clip_id"]]
    assert topics  # on snapshots/clips/{clip_id}/{n}: the receiver files them by clip id


def test_a_confidential_deliverys_clip_never_leaves_and_erase_removes_it(new_device) -> None:
    device = new_device(FILMED)
    device.cloud.wait_state(in_home_enabled=True)
    device.send(
        "arriving", device.mint("arriving", delivery_id="D-s", mode="in_home", confidential=True)
    )
    device.cloud.wait_event("delivery.arriving", delivery_id="D-s")
    device.send("at_door", device.mint("at_door", delivery_id="D-s"))
    device.cloud.wait_event("delivery.unlocked", delivery_id="D-s")
    device.sim("door", "open")
    device.sim("door", "close")
    device.cloud.wait_event("delivery.completed", delivery_id="D-s", timeout=30)
    [clip] = device.events("delivery.clip")
    assert clip["local_only"] is True
    kept = device.folder / "data" / "photos" / "private" / "D-s" / f"{clip['clip_id']}.mp4"
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == clip["sha256"]
    assert clip["clip_id"] not in device.cloud.received.clip_chunks

    erase = device.doorstep("photos", "erase", "--delivery", "D-s")
    assert erase.returncode == 0 and "and 1 clip of delivery D-s" in erase.stdout, erase
    assert not kept.exists()
    erased = device.cloud.wait_event("photo.erased", delivery_id="D-s")
    assert erased["clip_ids"] == [clip["clip_id"]]


class Videos(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "video":
            self.sources.append(dict(attrs)["src"] or "")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_the_history_page_plays_the_clip_in_a_real_browser(new_device, tmp_path: Path) -> None:
    device = new_device(FILMED)
    device.cloud.wait_state(in_home_enabled=True)
    filmed_delivery(device)
    [clip] = device.events("delivery.clip")
    page = tmp_path / "history.html"
    result = device.doorstep("history", "--html", str(page))
    assert result.returncode == 0, result.stderr
    videos = Videos()
    html = page.read_text(encoding="utf-8")
    videos.feed(html)
    [src] = videos.sources
    mp4 = base64.b64decode(src.removeprefix("data:video/mp4;base64,"))
    assert hashlib.sha256(mp4).hexdigest() == clip["sha256"]
    page.write_text(html.replace("</body>", VIDEO_PROBE + "</body>"), encoding="utf-8")
    duration, size, brightness = played(page)
    assert abs(duration - clip["duration_s"]) < 0.5, (duration, clip["duration_s"])
    assert size == "640x480"
    assert brightness > 60, "the decoded frame is black"  # the porch's wall shows
