"""The delivery history in the database: written by the ledger with the completing step (with
or without receipts), pruned by age, read read-only beside a writer, rendered for people; and
notes no delivery will take are forgotten."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from edge.contract.topics import Topics
from edge.domain.model import Emit, EventType, Now, Record
from edge.ops.history_view import html_page, parse_since, table
from edge.store.db import FILE_NAME
from edge.store.history import DeliveryHistory, read_history
from edge.store.ledger import Ledger
from edge.store.notes import DeliveryNotes
from edge.wiring import open_stores
from tests.chromium import CHROMIUM, dom_of

COURIER = {"id": "c7", "name": "Sam"}
T0 = 1.8e9


def jpeg(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(out, "JPEG")
    return out.getvalue()


def deliver(
    ledger: Ledger, data: Path, delivery_id: str, wall: float, *, confidential: bool = False
) -> bytes:
    photo = jpeg("red")
    folder = data / "photos" / ("private" if confidential else "deliveries") / delivery_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{delivery_id}-p.jpg").write_bytes(photo)
    steps = [
        Emit(
            EventType.DELIVERY_ARRIVING,
            delivery_id,
            {"mode": "doorstep", "courier": COURIER, "confidential": confidential},
        ),
        Emit(
            EventType.COMMAND_REJECTED,
            delivery_id,
            {"cmd": "at_door", "reason": "busy", "jti": None},
        ),
        Emit(
            EventType.DELIVERY_PHOTO,
            delivery_id,
            {
                "photo_id": f"{delivery_id}-p",
                "sha256": hashlib.sha256(photo).hexdigest(),
                "bytes": len(photo),
                "captured_at": "2027-01-15T08:00:05.000Z",
                "local_only": confidential,
                "purpose": "confirmation",
                "frame": 7,
                "sensor_ns": 70,
            },
        ),
        Emit(
            EventType.DELIVERY_COMPLETED,
            delivery_id,
            {
                "outcome": "delivered",
                "mode": "doorstep",
                "photos": [f"{delivery_id}-p"],
                "parcel_visible": True,
            },
        ),
    ]
    for n, emit in enumerate(steps):
        ledger.commit(Record(events=(emit,)), Now(wall + n, 1.0))
    return photo


@pytest.fixture
def store(tmp_path: Path):
    stores = open_stores(tmp_path)
    ledger = stores.ledger(
        Topics("doorstep", "porch-1"), lambda share: ("", tmp_path, "mqtt"), None
    )  # no receipts
    yield stores.db, ledger, tmp_path
    stores.db.close()


def test_a_completed_delivery_is_kept_with_its_timeline_and_photos(store) -> None:
    db, ledger, data = store
    photo = deliver(ledger, data, "D-1", T0)
    [past] = read_history(data)  # type: ignore[misc]
    assert (
        past.delivery_id,
        past.mode,
        past.outcome,
        past.courier,
        past.arrived,
        past.completed,
        past.parcel_visible,
    ) == ("D-1", "doorstep", "delivered", COURIER, T0, T0 + 3, True)
    assert [(e["t"] - T0, e["type"], e.get("reason")) for e in past.events] == [
        (0, "delivery.arriving", None),
        (1, "command.rejected", "busy"),
        (2, "delivery.photo", None),
        (3, "delivery.completed", None),
    ]
    [kept] = past.photos
    assert kept.file is not None and kept.file.read_bytes() == photo
    assert kept.sha256 == hashlib.sha256(photo).hexdigest() and not kept.local_only
    with db.lock:  # the notes went with the completing step
        assert db.conn.execute("SELECT COUNT(*) FROM receipt_items").fetchone()[0] == 0


def test_a_photo_whose_file_is_gone_is_listed_as_erased(store) -> None:
    db, ledger, data = store
    deliver(ledger, data, "D-1", T0, confidential=True)
    (data / "photos" / "private" / "D-1" / "D-1-p.jpg").unlink()
    [past] = read_history(data)  # type: ignore[misc]
    assert past.confidential and past.photos[0].local_only and past.photos[0].file is None
    assert json.loads(json.dumps(past.as_json()))["photos"][0]["erased"] is True
    assert table([past], ZoneInfo("UTC")).splitlines()[1].split()[-4:] == [
        "1",
        "(1",
        "erased)",
        "seen",
    ]


def test_history_is_pruned_by_age_and_read_from_a_date(store) -> None:
    db, ledger, data = store
    for n in range(3):
        deliver(ledger, data, f"D-{n}", T0 + n * 86400)
    assert [p.delivery_id for p in read_history(data, since=T0 + 86400) or []] == ["D-1", "D-2"]
    with db.transaction() as conn:
        assert DeliveryHistory.prune(conn, before=T0 + 86400) == 1
    assert [p.delivery_id for p in read_history(data) or []] == ["D-1", "D-2"]


def test_notes_no_delivery_will_take_are_forgotten(store) -> None:
    db, ledger, data = store
    late = Emit(
        EventType.DELIVERY_PHOTO,
        "D-gone",
        {
            "photo_id": "p",
            "sha256": "0" * 64,
            "bytes": 1,
            "captured_at": "x",
            "local_only": False,
            "purpose": "confirmation",
            "frame": None,
            "sensor_ns": None,
        },
    )
    ledger.commit(Record(events=(late,)), Now(T0, 1.0))
    with db.transaction() as conn:
        conn.execute("INSERT INTO deliveries VALUES ('D-run', 0, '{}')")
        DeliveryNotes.note(conn, late, 99, "e1", b"{}", T0)
        conn.execute("UPDATE receipt_items SET delivery_id = 'D-run' WHERE seq = 99")
    with db.transaction() as conn:
        assert DeliveryNotes.forget_finished(conn) == 2  # D-gone's event and photo notes
        left = conn.execute("SELECT DISTINCT delivery_id FROM receipt_items").fetchall()
    assert left == [("D-run",)]


def test_reading_never_creates_or_writes(tmp_path: Path) -> None:
    assert read_history(tmp_path / "nowhere") is None and not (tmp_path / "nowhere").exists()
    old = sqlite3.connect(tmp_path / FILE_NAME)  # a database from before the history
    old.execute("CREATE TABLE outbox (id INTEGER)")
    old.commit()
    old.close()
    assert read_history(tmp_path) == []
    assert {
        r[0]
        for r in sqlite3.connect(tmp_path / FILE_NAME).execute("SELECT name FROM sqlite_master")
    } == {"outbox"}


def test_since_is_a_date_in_the_device_time_zone() -> None:
    london = ZoneInfo("Europe/London")
    midnight_bst = datetime(2027, 6, 30, 23, 0, tzinfo=UTC)  # summer: an hour ahead of UTC
    assert parse_since("2027-07-01", london) == midnight_bst.timestamp()
    assert (
        parse_since("2027-01-01T08:30", london)
        == datetime(2027, 1, 1, 8, 30, tzinfo=UTC).timestamp()
    )
    with pytest.raises(ValueError, match="not a date"):
        parse_since("last tuesday", london)


PROBE = """<script>addEventListener("load", () => { document.title = "loaded " +
  [...document.images].map(i => i.naturalWidth + "x" + i.naturalHeight).join(","); });</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_the_history_page_shows_its_photos_in_a_real_browser(store, tmp_path: Path) -> None:
    """Headless Chromium decodes every embedded photo, on a page that fetches nothing."""
    db, ledger, data = store
    deliver(ledger, data, "D-1", T0)
    deliver(ledger, data, "D-2", T0 + 60)
    (data / "photos" / "deliveries" / "D-2" / "D-2-p.jpg").unlink()
    page = html_page(read_history(data) or [], "porch-1", ZoneInfo("UTC"), None)
    assert "http://" not in page and "https://" not in page
    probe = tmp_path / "page.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = dom_of(probe, budget_ms=5000)
    assert "<title>loaded 32x24</title>" in dom  # D-1's photo drawn; D-2's shown as erased
    assert dom.count('class="erased"') == 1
