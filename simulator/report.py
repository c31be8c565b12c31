"""The report of a demo or a scenario: a self-contained folder with report.html (timeline and
photos), report.json and the photos as files; a scenario's has its verdict too."""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path
from typing import Any

from simulator.receiver import Received


def write_report(out: Path, received: Received, timeline: list[dict[str, Any]],
                 title: str, verdict: dict[str, Any] | None = None) -> Path:
    photo_dir = out / "photos"
    photo_dir.mkdir(parents=True, exist_ok=True)
    for photo_id, data in received.photos.items():
        (photo_dir / f"{photo_id}.jpg").write_bytes(data)
    photo_events = {e["photo_id"]: e for e in received.events if e["type"] == "delivery.photo"}
    checks = {pid: hashlib.sha256(data).hexdigest() == photo_events[pid]["sha256"]
              for pid, data in received.photos.items() if pid in photo_events}
    (out / "report.json").write_text(json.dumps({
        "title": title, "timeline": timeline, "events": received.events,
        "photos": sorted(received.photos), "sha256_verified": checks,
        **({"verdict": verdict} if verdict is not None else {}),
    }, indent=2), encoding="utf-8")

    rows = "\n".join(
        f"<tr><td>+{step['t']:.2f}s</td><td>{html.escape(step['who'])}</td>"
        f"<td>{html.escape(step['what'])}</td></tr>" for step in timeline)
    groups: dict[str, list[str]] = {}
    for pid in sorted(received.photos):
        event = photo_events.get(pid)
        groups.setdefault(f"delivery {event['delivery_id']}" if event else "doorbell snapshots",
                          []).append(pid)
    outcomes = {e["delivery_id"]: f"{e['mode']}, {e['outcome']}" for e in received.events
                if e["type"] == "delivery.completed"}
    figures = "\n".join(
        f"<h3>{html.escape(name)} {html.escape(_outcome(name, outcomes))}</h3>" + "\n".join(
            f'<figure><img src="photos/{html.escape(pid)}.jpg" width="400">'
            f"<figcaption>{html.escape(pid)}<br>{html.escape(_caption(pid, received))}"
            f"{' &#10003; sha256' if checks.get(pid) else ''}</figcaption></figure>"
            for pid in pids)
        for name, pids in groups.items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}
td{{padding:.2em .8em;border-bottom:1px solid #ddd;vertical-align:top}}
figure{{display:inline-block;margin:.5em}}figcaption{{font-size:.8em}}</style></head>
<body><h1>{html.escape(title)}</h1>
{_verdict(verdict)}
<h2>Timeline</h2><table>{rows}</table>
<h2>Photos ({len(received.photos)})</h2>{figures}
</body></html>
"""
    report = out / "report.html"
    report.write_text(page, encoding="utf-8")
    return report


def _verdict(verdict: dict[str, Any] | None) -> str:
    if verdict is None:
        return ""
    if verdict["passed"]:
        return '<p style="color:#060"><b>PASSED</b></p>'
    items = "".join(f"<li>{html.escape(f)}</li>" for f in verdict["failures"])
    return f'<p style="color:#a00"><b>FAILED</b></p><ul>{items}</ul>'


def _outcome(group: str, outcomes: dict[str, str]) -> str:
    delivery_id = group.removeprefix("delivery ")
    return f"({outcomes[delivery_id]})" if delivery_id in outcomes else ""


def _caption(photo_id: str, received: Received) -> str:
    event = next((e for e in received.events if e.get("photo_id") == photo_id
                  and e["type"] == "delivery.photo"), None)
    if event is None:
        return "doorbell snapshot"
    return f"{event.get('purpose', 'photo')} at {event['captured_at']}"
