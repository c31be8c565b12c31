"""What the journal says about a failing part: once at the start with the fix, reminders no
more often than asked, and the recovery with how long it lasted."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from edge.journal.fault_log import FaultLog

log = logging.getLogger("tests.fault_log")


@pytest.fixture(autouse=True)
def _info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=log.name)


def fault_log() -> FaultLog:
    return FaultLog("camera", "unlocks are refused", "check the cable", log, every_s=60)


def test_the_first_failure_says_what_broke_what_it_stops_and_the_fix(caplog) -> None:
    fault_log().failed("no frames", now=100.0)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.ERROR,
            (
                'event=camera_fault error="no frames" stops="unlocks are refused" '
                'fix="check the cable"'
            ),
        )
    ]
    assert not caplog.records[0].exc_info


def test_the_same_failure_again_is_quiet_until_a_reminder_is_due(caplog) -> None:
    faults = fault_log()
    faults.failed("no frames", now=100.0)
    for seconds in (5, 30, 59.9):
        faults.failed("no frames", now=100.0 + seconds)
    assert len(caplog.records) == 1
    faults.failed("no frames", now=160.0)
    faults.failed("no frames", now=165.0)
    assert [(r.levelno, r.getMessage()) for r in caplog.records[1:]] == [
        (
            logging.ERROR,
            (
                'event=camera_still_faulty error="no frames" failures=5 faulty_s=60 '
                'fix="check the cable"'
            ),
        )
    ]


def test_a_different_error_is_said_at_once(caplog) -> None:
    faults = fault_log()
    faults.failed("no frames", now=100.0)
    faults.failed("frame counter stopped", now=101.0)
    assert len(caplog.records) == 2
    assert 'error="frame counter stopped"' in caplog.records[1].getMessage()


def test_the_recovery_says_how_long_it_lasted_and_only_once(caplog) -> None:
    faults = fault_log()
    faults.ok(now=50.0)  # nothing was failing: nothing to say
    assert caplog.records == []
    faults.failed("no frames", now=100.0)
    faults.failed("no frames", now=105.0)
    faults.ok(now=112.5)
    faults.ok(now=113.0)
    assert [(r.levelno, r.getMessage()) for r in caplog.records[1:]] == [
        (logging.INFO, "event=camera_recovered failures=2 faulty_s=12.5")
    ]
    faults.failed("no frames", now=200.0)  # a new fault starts afresh
    assert caplog.records[-1].getMessage().startswith("event=camera_fault ")


def test_a_traceback_comes_only_with_a_bug_not_with_a_failing_disk(caplog) -> None:
    disk, bug = fault_log(), fault_log()
    disk.failed(sqlite3.OperationalError("disk I/O error"), now=1.0)
    bug.failed(KeyError("cursor"), now=1.0)
    assert not caplog.records[0].exc_info
    assert 'error="disk I/O error"' in caplog.records[0].getMessage()
    assert caplog.records[1].exc_info is not None and caplog.records[1].exc_info[1] is not None
