"""What the core does on a Tick besides the machine's deadlines, as the homeowner reads it in
the journal and in systemd's STATUS: a fault once with its fix, reminders a minute apart, the
recovery once."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

from edge.domain.model import ClockChecked, Now, State
from edge.hardware.clock import ClockSync
from edge.loop.housekeeping import Housekeeper, Upkeep
from edge.loop.inbox import Inbox
from edge.store.db import Database
from edge.store.outbox import Outbox
from edge.store.photos import PhotoStore
from edge.store.replay import ReplayStore
from edge.wiring import Stores


def housekeeper(tmp_path: Path, db: Database, outbox: Outbox, **given: Any) -> Housekeeper:
    upkeep = Upkeep(
        device_id="porch-1",
        snapshot_prefix="doorstep/porch-1/snapshots/",
        outbox_quota_bytes=None,
        clock_skew_s=30,
        history_retention_s=86400,
    )
    kept = {name: given.pop(name) for name in ("outbox_quota_bytes",) if name in given}
    settings: dict[str, Any] = dict(
        inbox=Inbox(),
        stores=Stores(db, outbox, ReplayStore(db), PhotoStore(tmp_path / "photos")),
        clock=lambda: ClockSync(True, "test"),
        upkeep=replace(upkeep, **kept),
    )
    return Housekeeper(**{**settings, **given})


def at(second: float) -> Now:
    return Now(wall=1e9 + second, mono=float(second))


def test_an_unsynchronised_clock_is_said_with_its_fix_then_its_recovery(tmp_path, caplog) -> None:
    """Unsynchronised from the start (a Pi with no network yet): no change of state to notice,
    and still the journal says why every pass is refused."""
    caplog.set_level(logging.INFO)
    db = Database(tmp_path / "doorstep.sqlite")
    synced = [False]
    keeper = housekeeper(
        tmp_path,
        db,
        Outbox(db),
        clock=lambda: ClockSync(synced[0], "the kernel says so (adjtimex)"),
    )
    state = State(clock_synced=False)
    for second in range(90):
        assert keeper.on_tick(state, at(second)) == []  # the state already says unsynced
    synced[0] = True
    assert keeper.on_tick(state, at(90)) == [ClockChecked(True)]
    said = [r.getMessage() for r in caplog.records if "event=clock_" in r.getMessage()]
    assert said[0].startswith(
        'event=clock_fault error="not synchronised: the kernel says so '
        '(adjtimex)" stops="every pass is refused (clock_unsynced)'
    )
    assert 'fix="enable time sync (timedatectl set-ntp true' in said[0]
    assert said[1].startswith("event=clock_still_faulty ") and " failures=61 " in said[1]
    assert said[2] == "event=clock_recovered failures=90 faulty_s=90.0" and len(said) == 3
    db.close()


def test_a_quota_check_that_keeps_failing_is_said_once_a_minute_with_a_count(
    tmp_path: Path, caplog
) -> None:
    """Checked at every one-second Tick: a full disk must not write 3,600 lines an hour."""
    db = Database(tmp_path / "doorstep.sqlite")

    class FullDisk(Outbox):
        def drop_snapshots(self, topic_prefix: str) -> int:
            raise sqlite3.OperationalError("database or disk is full")

    outbox = FullDisk(db)
    outbox.add_event("doorstep/porch-1/events", lambda seq: b"e" * 2000)
    keeper = housekeeper(tmp_path, db, outbox, outbox_quota_bytes=1000)
    for second in range(121):
        keeper.on_tick(State(), at(second))
    said = [r.getMessage() for r in caplog.records if "outbox_quota_check_failed" in r.getMessage()]
    assert [line.split(" failures=")[1].split()[0] for line in said] == ["1", "60", "60"]
    assert all('fix="free space' in line for line in said)
    db.close()
