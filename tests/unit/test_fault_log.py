"""What the journal says about a failing part: once at the start with the fix, reminders no
more often than asked, and the recovery with how long it lasted."""

from __future__ import annotations

import logging

from edge.fault_log import FaultLog


def fault_log() -> FaultLog:
    return FaultLog("camera", "unlocks are refused", "check the cable", every_s=60)


def test_the_first_failure_says_what_broke_what_it_stops_and_the_fix() -> None:
    said = fault_log().failed("no frames", now=100.0)
    assert said is not None and said.level == logging.ERROR
    assert said.message == ('event=camera_fault error="no frames" stops="unlocks are refused" '
                            'fix="check the cable"')


def test_the_same_failure_again_is_quiet_until_a_reminder_is_due() -> None:
    faults = fault_log()
    faults.failed("no frames", now=100.0)
    assert [faults.failed("no frames", now=100.0 + s) for s in (5, 30, 59.9)] == [None] * 3
    reminder = faults.failed("no frames", now=160.0)
    assert reminder is not None and reminder.level == logging.ERROR
    assert reminder.message == ('event=camera_still_faulty error="no frames" failures=5 '
                                'faulty_s=60 fix="check the cable"')
    assert faults.failed("no frames", now=165.0) is None


def test_a_different_error_is_said_at_once() -> None:
    faults = fault_log()
    faults.failed("no frames", now=100.0)
    said = faults.failed("frame counter stopped", now=101.0)
    assert said is not None and 'error="frame counter stopped"' in said.message


def test_the_recovery_says_how_long_it_lasted_and_only_once() -> None:
    faults = fault_log()
    assert faults.ok(now=50.0) is None  # nothing was failing: nothing to say
    faults.failed("no frames", now=100.0)
    faults.failed("no frames", now=105.0)
    said = faults.ok(now=112.5)
    assert said is not None and said.level == logging.INFO
    assert said.message == "event=camera_recovered failures=2 faulty_s=12.5"
    assert faults.ok(now=113.0) is None
    again = faults.failed("no frames", now=200.0)  # a new fault starts afresh
    assert again is not None and again.message.startswith("event=camera_fault ")

