"""The one database: a step's record is one transaction, and a data dir from before it (three
files: replay.sqlite, outbox.sqlite, deliveries.json) is carried over at the first start."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from edge.domain.model import ConsumeJti, Delivery, Emit, EventType, Now, Record, SharePhoto
from edge.domain.passes import Courier, Mode
from edge.store.db import Database, open_store
from edge.store.deliveries import DeliveryJournal
from edge.store.ledger import Ledger
from edge.store.outbox import Outbox
from edge.store.replay import ReplayStore
from edge.transport.topics import Topics

DELIVERY = Delivery("D-7", Mode.IN_HOME, Courier("c", "Sam"), False, 2e9)


def old_data_dir(folder: Path, photo: Path) -> None:
    replay = sqlite3.connect(folder / "replay.sqlite")
    replay.executescript("CREATE TABLE used_jti (jti TEXT PRIMARY KEY, exp REAL NOT NULL);"
                         "INSERT INTO used_jti VALUES ('old-jti', 2e9);")
    replay.commit()
    outbox = sqlite3.connect(folder / "outbox.sqlite")
    outbox.executescript("""
        CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,
            payload BLOB, file TEXT, created REAL NOT NULL, channel TEXT NOT NULL DEFAULT 'mqtt');
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO counters VALUES ('event_seq', 41);""")
    outbox.execute("INSERT INTO outbox (topic, payload, created) VALUES ('t/events', ?, 1)",
                   (b"x" * 300,))
    outbox.execute("INSERT INTO outbox (topic, file, created) VALUES ('t/photos/p', ?, 2)",
                   (str(photo),))
    outbox.commit()
    (folder / "deliveries.json").write_text(json.dumps([{
        "id": "D-7", "mode": "in_home", "courier": {"id": "c", "name": "Sam"},
        "confidential": False, "expires_at": 2e9, "phase": "waiting", "photos": [],
        "pending_photos": 0, "due": None, "done_requested": False, "outcome": None,
        "entered": False, "alarmed": False, "alarm_at": None, "photo_at": None}]))


def test_a_data_dir_of_three_files_is_carried_over_once(tmp_path: Path) -> None:
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"p" * 700)
    old_data_dir(tmp_path, photo)
    db = open_store(tmp_path)
    assert ReplayStore(db).seen("old-jti")
    assert DeliveryJournal(db).load() == (DELIVERY,)
    outbox = Outbox(db)
    assert [e.topic for e in outbox.pending(0, 10)] == ["t/events", "t/photos/p"]
    assert outbox.queued_bytes() == 1000  # the event's bytes and the queued photo's file
    assert outbox.add_event("t/events", lambda seq: b"y") == 42  # seq carries on
    db.close()
    assert sorted(p.name for p in tmp_path.glob("*.migrated")) == [
        "deliveries.json.migrated", "outbox.sqlite.migrated", "replay.sqlite.migrated"]
    again = open_store(tmp_path)  # a second start finds nothing to carry over
    assert len(Outbox(again).pending(0, 10)) == 3
    assert again.conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert again.conn.execute("PRAGMA page_size").fetchone()[0] == 1024


def test_a_step_is_one_transaction_all_or_nothing(tmp_path: Path) -> None:
    db = Database(tmp_path / "doorstep.sqlite")
    outbox = Outbox(db)
    photo = tmp_path / "p1.jpg"
    photo.write_bytes(b"j" * 100)
    ledger = Ledger(db, outbox, topics=Topics("t", "porch-1"),
                    photo_target=lambda share: ("t/photos/" + share.photo_id, photo, "mqtt"))
    record = Record(consume=ConsumeJti("j-1", 2e9), deliveries=(DELIVERY,),
                    photos=(SharePhoto("p1", "D-7"),),
                    events=(Emit(EventType.DELIVERY_ARRIVING, "D-7", {"mode": "in_home"}),))
    ledger.commit(record, Now(1.8e9, 5.0))
    assert ReplayStore(db).seen("j-1") and DeliveryJournal(db).load() == (DELIVERY,)
    photo_row, event_row = outbox.pending(0, 10)
    assert photo_row.file == photo and json.loads(event_row.payload)["seq"] == 1

    broken = Record(consume=ConsumeJti("j-2", 2e9), deliveries=(),
                    events=(Emit(EventType.DELIVERY_COMPLETED, "D-7", {"x": object()}),))
    with pytest.raises(TypeError):  # the event cannot be rendered: nothing of the step stays
        ledger.commit(broken, Now(1.8e9, 6.0))
    assert not ReplayStore(db).seen("j-2") and DeliveryJournal(db).load() == (DELIVERY,)
    assert len(outbox.pending(0, 10)) == 2 and outbox.queued_bytes() == 100 + len(event_row.payload)
