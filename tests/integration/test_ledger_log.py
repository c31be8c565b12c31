"""Each recorded event is a line in the journal; an alarm is a WARNING that says what the
homeowner can do, so `journalctl -p warning` shows every one of them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge.contract.topics import Topics
from edge.domain.model import Emit, EventType, Now, Record
from edge.store.ledger import ALARM_FIXES
from edge.wiring import open_stores


@pytest.mark.parametrize("alarm", sorted(ALARM_FIXES))
def test_an_alarm_is_a_warning_with_its_fix(tmp_path: Path, caplog, alarm: EventType) -> None:
    stores = open_stores(tmp_path)
    ledger = stores.ledger(
        Topics("doorstep", "porch-1"), lambda share: ("", tmp_path, "mqtt"), None
    )
    caplog.set_level(logging.INFO, logger="edge.store.ledger")
    ledger.commit(
        Record(events=(Emit(EventType.DELIVERY_UNLOCKED, "D-1"), Emit(alarm, "D-1"))), Now(2e9, 1.0)
    )
    lines = {r.getMessage().split()[0]: r for r in caplog.records}
    assert lines["event=delivery.unlocked"].levelno == logging.INFO
    said = lines[f"event={alarm}"]
    assert said.levelno == logging.WARNING
    assert said.getMessage().endswith(f'fix="{ALARM_FIXES[alarm]}"')
    stores.db.close()


def test_every_alarm_the_device_can_raise_has_a_fix() -> None:
    assert set(ALARM_FIXES) == {t for t in EventType if t.startswith("alarm.")}
