"""`make demo` runs `doorstep-sim demo`: the same command, into a temporary folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.integration.test_history import CHROMIUM

EVENT_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "contract" / "event.schema.json"


def test_demo_plays_both_deliveries_and_writes_a_report_with_verified_photos(
    tmp_path: Path,
) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "demo", "--out", str(out), "--pace", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert len(report["photos"]) >= 1
    assert report["sha256_verified"] and all(report["sha256_verified"].values())
    page = (out / "report.html").read_text()
    for photo_id in report["photos"]:
        assert f'src="photos/{photo_id}.jpg"' in page
        assert (out / "photos" / f"{photo_id}.jpg").read_bytes()[:2] == b"\xff\xd8"
    completed = {
        e["delivery_id"]: (e["mode"], e["outcome"])
        for e in report["events"]
        if e["type"] == "delivery.completed"
    }
    assert completed == {"D-1001": ("doorstep", "delivered"), "D-1002": ("in_home", "delivered")}
    rejected = {e["reason"] for e in report["events"] if e["type"] == "command.rejected"}
    assert rejected == {"replayed", "bad_signature"}
    assert "delivery D-1002 (in_home, delivered)" in page

    # The committed contract describes every event the demo saw, and still rejects a bad one.
    contract = Draft202012Validator(json.loads(EVENT_SCHEMA.read_text()))
    assert [e for e in report["events"] if not contract.is_valid(e)] == []
    assert not contract.is_valid({k: v for k, v in report["events"][0].items() if k != "seq"})

    # A clip of the doorbell press and one of the in-home delivery, each playing in the page.
    clips = {e["type"]: e for e in report["events"] if e["type"].endswith(".clip")}
    assert set(clips) == {"doorbell.clip", "delivery.clip"}
    assert sorted(report["clips"]) == sorted(c["clip_id"] for c in clips.values())
    for clip in clips.values():
        assert f'src="photos/{clip["clip_id"]}.mp4"' in page
    if CHROMIUM is not None:
        for clip in clips.values():
            played = play_in_chromium(out, clip["clip_id"])
            assert abs(played - clip["duration_s"]) < 0.5, (played, clip)


PROBE = """<!doctype html><video src="photos/{clip_id}.mp4" muted preload="auto"></video>
<script>const v = document.querySelector("video");
v.addEventListener("loadeddata", () => {{
  const c = document.createElement("canvas"); c.width = v.videoWidth; c.height = v.videoHeight;
  c.getContext("2d").drawImage(v, 0, 0);
  const p = c.getContext("2d").getImageData(c.width / 2, c.height / 2, 1, 1).data;
  document.title = "played " + v.duration + " " + (p[0] + p[1] + p[2]);
}});
v.addEventListener("error", () => {{ document.title = "error " + v.error.code; }});</script>"""


def play_in_chromium(out: Path, clip_id: str) -> float:
    """Load the report's clip file as the report page does, in headless Chromium; its duration,
    once a frame decoded that is not black."""
    probe = out / f"play-{clip_id}.html"
    probe.write_text(PROBE.format(clip_id=clip_id), encoding="utf-8")
    dom = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    title = dom.split("<title>", 1)[1].split("</title>", 1)[0] if "<title>" in dom else dom[-300:]
    if not title.startswith("played "):
        pytest.fail(f"the clip {clip_id} did not play: {title}")
    _, duration, brightness = title.split()
    assert int(brightness) > 60, f"the decoded frame is black: {title}"
    return float(duration)
