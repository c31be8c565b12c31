"""The one database: a step's record is one transaction, and a data dir from before it (three
files: replay.sqlite, outbox.sqlite, deliveries.json) is carried over at the first start."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

import pytest

from edge.cli import main
from edge.contract.topics import Topics
from edge.domain.model import ConsumeJti, Delivery, Emit, EventType, Now, Record, SharePhoto
from edge.domain.passes import Courier, Mode
from edge.store.db import SCHEMA_VERSION, Database, open_store
from edge.store.deliveries import DeliveryJournal
from edge.store.ledger import Ledger
from edge.store.outbox import Outbox
from edge.store.replay import ReplayStore
from simulator.daemon import write_sim_config

DELIVERY = Delivery("D-7", Mode.IN_HOME, Courier("c", "Sam"), False, 2e9)


def old_data_dir(folder: Path, photo: Path) -> None:
    replay = sqlite3.connect(folder / "replay.sqlite")
    replay.executescript(
        "CREATE TABLE used_jti (jti TEXT PRIMARY KEY, exp REAL NOT NULL);"
        "INSERT INTO used_jti VALUES ('old-jti', 2e9);"
    )
    replay.commit()
    outbox = sqlite3.connect(folder / "outbox.sqlite")
    outbox.executescript("""
        CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,
            payload BLOB, file TEXT, created REAL NOT NULL, channel TEXT NOT NULL DEFAULT 'mqtt');
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO counters VALUES ('event_seq', 41);""")
    outbox.execute(
        "INSERT INTO outbox (topic, payload, created) VALUES ('t/events', ?, 1)", (b"x" * 300,)
    )
    outbox.execute(
        "INSERT INTO outbox (topic, file, created) VALUES ('t/photos/p', ?, 2)", (str(photo),)
    )
    outbox.commit()
    (folder / "deliveries.json").write_text(
        json.dumps(
            [
                {
                    "id": "D-7",
                    "mode": "in_home",
                    "courier": {"id": "c", "name": "Sam"},
                    "confidential": False,
                    "expires_at": 2e9,
                    "phase": "waiting",
                    "photos": [],
                    "pending_photos": 0,
                    "due": None,
                    "done_requested": False,
                    "outcome": None,
                    "entered": False,
                    "alarmed": False,
                    "alarm_at": None,
                    "photo_at": None,
                }
            ]
        )
    )


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
        "deliveries.json.migrated",
        "outbox.sqlite.migrated",
        "replay.sqlite.migrated",
    ]
    again = open_store(tmp_path)  # a second start finds nothing to carry over
    assert len(Outbox(again).pending(0, 10)) == 3
    assert again.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert again.conn.execute("PRAGMA page_size").fetchone()[0] == 1024


SCHEMA_1 = """
CREATE TABLE used_jti (jti TEXT PRIMARY KEY, exp REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB, file TEXT,
    created REAL NOT NULL, channel TEXT NOT NULL DEFAULT 'mqtt',
    bytes INTEGER NOT NULL DEFAULT 0, retain INTEGER NOT NULL DEFAULT 0);
CREATE INDEX outbox_by_file ON outbox (file) WHERE file IS NOT NULL;
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters VALUES ('event_seq', 12);
PRAGMA user_version = 1;
"""


def test_a_schema_1_database_is_carried_to_schema_2_keeping_every_row(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "doorstep.sqlite")
    old.executescript(SCHEMA_1)
    for n in range(1, 10):
        old.execute(
            "INSERT INTO outbox (topic, payload, created, bytes) VALUES ('t/e', ?, 1, 3)",
            (b"e%d" % n,),
        )
    old.execute("DELETE FROM outbox WHERE id IN (1, 2, 3, 9)")  # sent: sqlite_sequence says 9
    old.execute("INSERT INTO deliveries VALUES ('D-7', 0, ?)", (json.dumps(asdict(DELIVERY)),))
    old.commit()
    old.close()
    db = open_store(tmp_path)
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert DeliveryJournal(db).load() == (DELIVERY,)
    outbox = Outbox(db)
    assert [e.id for e in outbox.pending(0, 10)] == [4, 5, 6, 7, 8]
    assert outbox.add_event("t/e", lambda seq: b"next") == 13  # the seq carries on
    assert outbox.pending(8, 10)[0].id == 10  # and the ids: 9 was used once, never again
    tables = dict(db.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    assert "AUTOINCREMENT" not in tables["outbox"] and "WITHOUT ROWID" not in tables["deliveries"]
    assert db.conn.execute("SELECT COUNT(*) FROM sqlite_sequence").fetchone()[0] == 0


def test_outbox_ids_are_never_reused_once_the_table_empties(tmp_path: Path) -> None:
    """The pump asks for rows after the highest id it sent: a reused id would never be sent."""
    db = Database(tmp_path / "doorstep.sqlite")
    outbox = Outbox(db)
    outbox.add_event("t/e", lambda seq: b"one")
    (first,) = outbox.pending(0, 10)
    outbox.remove([first.id])
    outbox.add_event("t/e", lambda seq: b"two")
    assert [e.payload for e in outbox.pending(first.id, 10)] == [b"two"]
    with db.transaction() as conn:  # an older doorstep's insert: no counter
        conn.execute("INSERT INTO outbox (topic, payload, created) VALUES ('t/e', X'6f6c64', 1)")
    outbox.add_event("t/e", lambda seq: b"three")  # its id is not taken twice
    assert [e.payload for e in outbox.pending(first.id, 10)] == [b"two", b"old", b"three"]


def test_a_step_is_one_transaction_all_or_nothing(tmp_path: Path) -> None:
    db = Database(tmp_path / "doorstep.sqlite")
    outbox = Outbox(db)
    photo = tmp_path / "p1.jpg"
    photo.write_bytes(b"j" * 100)
    ledger = Ledger(
        db,
        outbox,
        topics=Topics("t", "porch-1"),
        photo_target=lambda share: ("t/photos/" + share.photo_id, photo, "mqtt"),
    )
    record = Record(
        consume=ConsumeJti("j-1", 2e9),
        deliveries=(DELIVERY,),
        photos=(SharePhoto("p1", "D-7"),),
        events=(Emit(EventType.DELIVERY_ARRIVING, "D-7", {"mode": "in_home"}),),
    )
    ledger.commit(record, Now(1.8e9, 5.0))
    assert ReplayStore(db).seen("j-1") and DeliveryJournal(db).load() == (DELIVERY,)
    photo_row, event_row = outbox.pending(0, 10)
    assert event_row.payload is not None
    assert photo_row.file == photo and json.loads(event_row.payload)["seq"] == 1

    broken = Record(
        consume=ConsumeJti("j-2", 2e9),
        deliveries=(),
        events=(Emit(EventType.DELIVERY_COMPLETED, "D-7", {"x": object()}),),
    )
    with pytest.raises(TypeError):  # the event cannot be rendered: nothing of the step stays
        ledger.commit(broken, Now(1.8e9, 6.0))
    assert not ReplayStore(db).seen("j-2") and DeliveryJournal(db).load() == (DELIVERY,)
    assert len(outbox.pending(0, 10)) == 2 and outbox.queued_bytes() == 100 + len(event_row.payload)


def newer_data_dir(tmp_path: Path, cloud_keys) -> Path:
    """A data dir whose database a newer doorstep wrote; returns the config that names it."""
    (tmp_path / "data").mkdir()
    newer = sqlite3.connect(tmp_path / "data" / "doorstep.sqlite")
    newer.execute("CREATE TABLE a_newer_table (x)")
    newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer.close()
    return write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-old",
        port=1,
        trusted_key=cloud_keys.public,
        data_dir=tmp_path / "data",
    )


def left_as_it_was(data_dir: Path) -> bool:
    check = sqlite3.connect(data_dir / "doorstep.sqlite")
    try:
        return check.execute("PRAGMA user_version").fetchone()[
            0
        ] == SCHEMA_VERSION + 1 and check.execute("SELECT name FROM sqlite_master").fetchall() == [
            ("a_newer_table",)
        ]
    finally:
        check.close()


def test_a_database_from_a_newer_doorstep_stops_the_start_saying_what_to_do(
    tmp_path: Path, cloud_keys, capsys
) -> None:
    """Going back a version after an upgrade: `doorstep run` says why it cannot start, in
    words a homeowner can act on, and leaves the newer file as it was (not even a table of
    ours is added to it)."""
    config = newer_data_dir(tmp_path, cloud_keys)
    assert main(["run", "--config", str(config)]) == 1
    said = capsys.readouterr().err
    assert "doorstep: cannot start:" in said and "written by a newer doorstep" in said
    assert "restore the data dir from before the upgrade" in said
    assert left_as_it_was(tmp_path / "data")


@pytest.mark.parametrize(
    "command",
    [["outbox"], ["history"], ["history", "--json"], ["photos", "erase", "--delivery", "D-7"]],
)
def test_the_commands_that_read_the_database_refuse_a_newer_one_in_one_line(
    tmp_path: Path, cloud_keys, capsys, command: list[str]
) -> None:
    config = newer_data_dir(tmp_path, cloud_keys)
    assert main([*command, "--config", str(config)]) == 1
    said = capsys.readouterr().err
    assert said.startswith("doorstep: ") and said.count("\n") == 1, said
    assert "written by a newer doorstep" in said and "restore the data dir" in said
    assert left_as_it_was(tmp_path / "data")


def test_doctor_names_a_newer_database_as_a_failed_check(
    tmp_path: Path, cloud_keys, capsys
) -> None:
    config = newer_data_dir(tmp_path, cloud_keys)
    assert main(["doctor", "--config", str(config)]) == 1
    database = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL  database")
    ]
    assert len(database) == 1 and "written by a newer doorstep" in database[0]
    assert "-> install the newer doorstep again" in database[0]
    assert left_as_it_was(tmp_path / "data")


@pytest.mark.parametrize("spoil", ["database is a folder", "data dir under a file"])
def test_a_data_dir_that_cannot_be_used_stops_the_start_in_one_line_with_the_fix(
    tmp_path: Path, cloud_keys, capsys, spoil: str
) -> None:
    """A folder the daemon's user cannot write (here: made unusable in ways root cannot
    bypass) is one line saying what to do, not a traceback."""
    if spoil == "database is a folder":
        data_dir = tmp_path / "data"
        (data_dir / "doorstep.sqlite").mkdir(parents=True)
    else:
        (tmp_path / "a-file").write_text("")
        data_dir = tmp_path / "a-file" / "data"
    config = write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-ro",
        port=1,
        trusted_key=cloud_keys.public,
        data_dir=data_dir,
    )
    assert main(["run", "--config", str(config)]) == 1
    said = capsys.readouterr().err
    assert said.startswith("doorstep: cannot start: ") and said.count("\n") == 1, said
    assert "storage.data_dir must be a folder the daemon's user can write" in said


@pytest.mark.parametrize(
    "command", [["outbox"], ["history"], ["photos", "erase", "--delivery", "D-7"]]
)
def test_the_commands_that_read_the_database_say_why_they_cannot_in_one_line(
    tmp_path: Path, cloud_keys, capsys, command: list[str]
) -> None:
    (tmp_path / "data" / "doorstep.sqlite").mkdir(parents=True)  # no database can open there
    config = write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-ro",
        port=1,
        trusted_key=cloud_keys.public,
        data_dir=tmp_path / "data",
    )
    assert main([*command, "--config", str(config)]) == 1
    said = capsys.readouterr().err
    assert said.startswith("doorstep: the database in ") and said.count("\n") == 1, said
    assert "storage.data_dir must be a folder the daemon's user can write" in said


def test_a_saved_delivery_with_a_field_this_version_does_not_know_is_still_loaded(
    tmp_path: Path,
) -> None:
    """A delivery saved by another doorstep of the same schema (or by an older one, with a
    field since removed) is picked up, and finished at the start, not dropped as unreadable."""
    db = open_store(tmp_path)
    with db.transaction() as conn:
        DeliveryJournal.write(conn, (DELIVERY,))
        conn.execute("UPDATE deliveries SET body = json_insert(body, '$.from_newer', 1)")
    assert DeliveryJournal(db).load() == (DELIVERY,)
    db.close()
