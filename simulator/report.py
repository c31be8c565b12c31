"""The report of a demo or a scenario: a self-contained folder with report.html (timeline,
photos and clips, rendered by edge/ops/report_page.py), report.json and the photos and clips as
files; a scenario's has its verdict too."""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path
from typing import Any

from edge.ops.report_page import Figure, Section, render_page
from simulator.receiver import Received


def write_report(
    out: Path,
    received: Received,
    timeline: list[dict[str, Any]],
    title: str,
    verdict: dict[str, Any] | None = None,
) -> Path:
    photo_dir = out / "photos"
    photo_dir.mkdir(parents=True, exist_ok=True)
    for photo_id, data in received.photos.items():
        (photo_dir / f"{photo_id}.jpg").write_bytes(data)
    clips = _clips(received)
    for clip_id, data in clips.items():
        (photo_dir / f"{clip_id}.mp4").write_bytes(data)
    photo_events = {e["photo_id"]: e for e in received.events if e["type"] == "delivery.photo"}
    checks = {
        pid: hashlib.sha256(data).hexdigest() == photo_events[pid]["sha256"]
        for pid, data in received.photos.items()
        if pid in photo_events
    }
    (out / "report.json").write_text(
        json.dumps(
            {
                "title": title,
                "timeline": timeline,
                "events": received.events,
                "photos": sorted(received.photos),
                "clips": sorted(clips),
                "sha256_verified": checks,
                **({"verdict": verdict} if verdict is not None else {}),
            },
            indent=2,
        ),
        encoding="utf-8",
    )

    groups: dict[str, list[str]] = {}
    for pid in sorted(received.photos):
        event = photo_events.get(pid)
        groups.setdefault(
            f"delivery {event['delivery_id']}" if event else "doorbell snapshots", []
        ).append(pid)
    outcomes = {
        e["delivery_id"]: f"{e['mode']}, {e['outcome']}"
        for e in received.events
        if e["type"] == "delivery.completed"
    }
    sections = [
        Section(
            "Timeline",
            rows=[(f"+{step['t']:.2f}s", step["who"], step["what"]) for step in timeline],
        ),
        Section(f"Photos ({len(received.photos)})"),
        *(
            Section(
                f"{name} {_outcome(name, outcomes)}".strip(),
                level=3,
                figures=[
                    Figure(f"photos/{pid}.jpg", pid, _caption(pid, received), bool(checks.get(pid)))
                    for pid in pids
                ],
            )
            for name, pids in groups.items()
        ),
        Section(
            f"Clips ({len(clips)})",
            figures=[
                Figure(f"photos/{cid}.mp4", cid, caption, verified, video=True)
                for cid, (caption, verified) in _clip_captions(received, clips).items()
            ],
        ),
    ]
    page = render_page(title, sections, banner=_verdict(verdict))
    report = out / "report.html"
    report.write_text(page, encoding="utf-8")
    return report


def _clips(received: Received) -> dict[str, bytes]:
    """The clips whose chunks all came, by clip id."""
    told = [e["clip_id"] for e in received.events if e["type"].endswith(".clip")]
    return {cid: data for cid in told if (data := received.clip(cid)) is not None}


def _clip_captions(received: Received, clips: dict[str, bytes]) -> dict[str, tuple[str, bool]]:
    captions = {}
    for event in received.events:
        data = clips.get(event.get("clip_id", ""))
        if event["type"].endswith(".clip") and data is not None:
            caption = (
                f"{event['type']} {event['delivery_id'] or ''} at {event['started_at']}, "
                f"{event['duration_s']:.1f} s"
            )
            verified = hashlib.sha256(data).hexdigest() == event["sha256"]
            captions[event["clip_id"]] = (caption, verified)
    return captions


def _verdict(verdict: dict[str, Any] | None) -> str:
    if verdict is None:
        return ""
    if verdict["passed"]:
        return '<p class="ok"><b>PASSED</b></p>'
    items = "".join(f"<li>{html.escape(f)}</li>" for f in verdict["failures"])
    return f'<p class="bad"><b>FAILED</b></p><ul>{items}</ul>'


def _outcome(group: str, outcomes: dict[str, str]) -> str:
    delivery_id = group.removeprefix("delivery ")
    return f"({outcomes[delivery_id]})" if delivery_id in outcomes else ""


def _caption(photo_id: str, received: Received) -> str:
    event = next(
        (
            e
            for e in received.events
            if e.get("photo_id") == photo_id and e["type"] == "delivery.photo"
        ),
        None,
    )
    if event is None:
        return "doorbell snapshot"
    return f"{event.get('purpose', 'photo')} at {event['captured_at']}"
