"""`make demo` runs `doorstep-sim demo`: the same command, into a temporary folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

from tests.chromium import CHROMIUM, VIDEO_PROBE, played

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


def play_in_chromium(out: Path, clip_id: str) -> float:
    """Load the report's clip file as the report page does, in headless Chromium; its duration,
    once a frame decoded that is not black."""
    probe = out / f"play-{clip_id}.html"
    page = f'<!doctype html><video src="photos/{clip_id}.mp4" muted></video>{VIDEO_PROBE}'
    probe.write_text(page, encoding="utf-8")
    duration, _, brightness = played(probe)
    assert brightness > 60, f"the decoded frame of {clip_id} is black"
    return duration
