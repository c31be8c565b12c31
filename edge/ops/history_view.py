"""`doorstep history`: the past deliveries as a table to read, JSON for scripts, or one
self-contained HTML page (timelines, and the photos and clips themselves) for a homeowner who
wants to look. Times are shown in the device's time zone ([policy] timezone, else the system's)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from edge.contract.events import rfc3339
from edge.journal.safe_text import printable
from edge.ops.report_page import Figure, Section, data_uri, render_page
from edge.store.history import PastClip, PastDelivery, PastPhoto

COLUMNS = ("completed", "delivery", "mode", "courier", "outcome", "photos", "parcel")


def parse_since(text: str, zone: tzinfo | None) -> float:
    """``2026-11-01`` or ``2026-11-01T08:30`` in ``zone``, as a wall-clock time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"--since {text!r}: not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone) if zone else moment.astimezone()
    return moment.timestamp()


def table(deliveries: Sequence[PastDelivery], zone: tzinfo | None) -> str:
    """One line per delivery, oldest first, columns sized to fit."""
    rows = [COLUMNS] + [
        (
            _local(d.completed, zone, "%Y-%m-%d %H:%M"),
            d.delivery_id,
            d.mode,
            _courier(d),
            d.outcome,
            _photos(d.photos),
            {True: "seen", False: "not seen", None: "-"}[d.parcel_visible],
        )
        for d in deliveries
    ]
    widths = [max(len(row[n]) for row in rows) for n in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def as_json(deliveries: Sequence[PastDelivery]) -> str:
    """Times as RFC 3339 UTC, like the events on the wire."""
    out: list[dict[str, Any]] = []
    for delivery in deliveries:
        body = delivery.as_json()
        body["completed"] = _utc(delivery.completed)
        body["arrived"] = None if delivery.arrived is None else _utc(delivery.arrived)
        body["events"] = [{**e, "t": _utc(e["t"])} for e in delivery.events]
        out.append(body)
    return json.dumps({"deliveries": out}, indent=2)


def html_page(
    deliveries: Sequence[PastDelivery], device_id: str, zone: tzinfo | None, since: float | None
) -> str:
    """Newest first; each photo embedded (checked against the sha256 it was announced with),
    an erased one shown as erased."""
    text = (
        f"{len(deliveries)} deliver{'y' if len(deliveries) == 1 else 'ies'}"
        + (f" since {_local(since, zone, '%Y-%m-%d %H:%M')}" if since is not None else "")
        + (f"; times in {zone or datetime.now().astimezone().tzname()}")
    )
    sections = [Section("Summary", text=text)] + [
        Section(
            f"{_local(d.completed, zone, '%Y-%m-%d %H:%M')}  "
            f"{d.delivery_id}: {d.mode}, {d.outcome}",
            text=f"courier {_courier(d)}"
            + (", confidential (photos stay on this device)" if d.confidential else "")
            + {
                True: ", parcel seen in the drop zone",
                False: ", no parcel seen in the drop zone",
                None: "",
            }[d.parcel_visible],
            rows=[
                (
                    _local(e["t"], zone, "%H:%M:%S"),
                    _offset(e["t"], d.arrived),
                    e["type"] + (f" ({e['reason']})" if "reason" in e else ""),
                )
                for e in d.events
            ],
            figures=[*(_figure(p) for p in d.photos), *(_clip_figure(c) for c in d.clips)],
        )
        for d in reversed(deliveries)
    ]
    return render_page(f"Deliveries at {device_id}", sections)


def _figure(photo: PastPhoto) -> Figure:
    caption = f"{photo.purpose} at {photo.captured_at}" + (
        " (local only)" if photo.local_only else ""
    )
    if photo.file is None:
        return Figure(None, photo.photo_id, caption)
    try:
        jpeg = photo.file.read_bytes()
    except OSError:
        return Figure(None, photo.photo_id, caption)  # erased as we looked
    return Figure(
        data_uri(jpeg),
        photo.photo_id,
        caption,
        verified=hashlib.sha256(jpeg).hexdigest() == photo.sha256,
    )


def _clip_figure(clip: PastClip) -> Figure:
    caption = (
        f"clip at {clip.started_at}, {clip.duration_s:.1f} s"
        + (" (local only)" if clip.local_only else "")
        + (" - the camera stopped during it" if clip.camera_fault else "")
    )
    if clip.file is None:
        return Figure(None, clip.clip_id, caption, video=True)
    try:
        mp4 = clip.file.read_bytes()
    except OSError:
        return Figure(None, clip.clip_id, caption, video=True)
    return Figure(
        data_uri(mp4, "video/mp4"),
        clip.clip_id,
        caption,
        verified=hashlib.sha256(mp4).hexdigest() == clip.sha256,
        video=True,
    )


def _courier(delivery: PastDelivery) -> str:
    courier = delivery.courier
    if not courier:
        return "-"
    return printable(f"{courier.get('name', '?')} ({courier.get('id', '?')})")


def _photos(photos: Sequence[PastPhoto]) -> str:
    erased = sum(p.file is None for p in photos)
    return f"{len(photos)}" + (f" ({erased} erased)" if erased else "")


def _local(wall: float, zone: tzinfo | None, fmt: str) -> str:
    return datetime.fromtimestamp(wall, zone).strftime(fmt)


def _utc(wall: float) -> str:
    return rfc3339(datetime.fromtimestamp(wall, UTC))


def _offset(t: float, arrived: float | None) -> str:
    return "" if arrived is None else f"+{t - arrived:.1f} s"
