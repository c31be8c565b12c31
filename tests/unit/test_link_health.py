"""What the broker link says while it cannot connect, and how long it waits between attempts:
pure policy, on a fake clock."""

from __future__ import annotations

import errno
import random
import socket
import ssl

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from edge.journal.throttle import Throttle
from edge.transport.link_health import (
    RETRY_CAP_S,
    Backoff,
    Failure,
    OutageLog,
    failure_of,
    failure_of_closed,
    failure_of_refusal,
)

REFUSED = Failure("refused", "nothing accepts connections on h:1", "is the broker running?")
TLS = Failure("tls", "certificate verify failed: unable to get local issuer certificate", "ca")


def verify_error() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "unable to get local issuer certificate"
    return error


@pytest.mark.parametrize(
    "exc, cause",
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "refused"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "dns"),
        (TimeoutError("timed out"), "timeout"),
        (verify_error(), "tls"),
        (ssl.SSLError(1, "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca"), "tls"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "network"),
        (OSError(errno.EPIPE, "Broken pipe"), "network"),
    ],
)
def test_each_connection_error_is_named_with_a_fix(exc: OSError, cause: str) -> None:
    failure = failure_of(exc, "broker.example", 8883)
    assert failure.cause == cause
    assert failure.detail and failure.fix


def test_a_certificate_problem_says_what_the_check_found() -> None:
    assert failure_of(verify_error(), "b", 1).detail == (
        "certificate verify failed: unable to get local issuer certificate"
    )


@pytest.mark.parametrize(
    "name, cause",
    [
        ("Bad user name or password", "bad_credentials"),
        ("Not authorized", "not_authorised"),
        ("Unsupported protocol version", "protocol"),
        ("Server unavailable", "protocol"),
    ],
)
def test_a_broker_refusal_tells_credentials_from_authorisation(name: str, cause: str) -> None:
    assert failure_of_refusal(ReasonCode(PacketTypes.CONNACK, name), login=True).cause == cause


def test_not_authorised_points_at_the_password_only_when_one_was_sent() -> None:
    refused = ReasonCode(PacketTypes.CONNACK, "Not authorized")
    assert "the password in mqtt.password_file" in failure_of_refusal(refused, login=True).fix
    assert "requires a login" in failure_of_refusal(refused, login=False).fix


def test_a_repeated_complaint_is_let_through_once_a_minute_with_a_count() -> None:
    throttle = Throttle(60.0)
    assert throttle.due(0.0) and throttle.take() == 1
    assert [throttle.due(t) for t in (1.0, 2.0, 59.0)] == [False] * 3
    assert throttle.due(60.0) and throttle.take() == 4


def test_a_tls_session_the_broker_ended_is_a_tls_problem() -> None:
    assert (
        failure_of_closed("failed to receive on socket: [SSL: TLSV1_ALERT_UNKNOWN_CA]").cause
        == "tls"
    )
    assert failure_of_closed(None).cause == "network"


def test_first_failure_is_said_at_once_then_one_summary_a_minute_with_a_count() -> None:
    outage = OutageLog("h:1")
    first = outage.failed(REFUSED, now=100.0)
    assert first is not None and first.level == "warning"
    assert "event=broker_unreachable" in first.message and "cause=refused" in first.message
    assert 'fix="is the broker running?"' in first.message
    assert [outage.failed(REFUSED, now=100.0 + s) for s in (1, 5, 30, 59)] == [None] * 4
    summary = outage.failed(REFUSED, now=160.0)
    assert summary is not None
    assert "event=broker_still_unreachable" in summary.message
    assert "failures=6" in summary.message and "offline_s=60" in summary.message
    assert outage.failed(REFUSED, now=161.0) is None


def test_a_new_cause_is_said_at_once() -> None:
    outage = OutageLog("h:1")
    outage.failed(REFUSED, now=0.0)
    changed = outage.failed(TLS, now=2.0)
    assert changed is not None
    assert "cause=tls" in changed.message and "failures=2" in changed.message


def test_recovery_says_how_many_attempts_failed_and_for_how_long() -> None:
    outage = OutageLog("h:1")
    assert outage.connected(now=5.0).message == "event=mqtt_connected broker=h:1"
    outage.disconnected(now=10.0)
    for t in (11.0, 13.0, 17.0):
        outage.failed(REFUSED, now=t)
    assert "unreachable (refused: nothing accepts" in outage.status
    assert "3 failed attempts" in outage.status
    back = outage.connected(now=22.5)
    assert back.message == "event=mqtt_connected broker=h:1 after_failures=3 offline_s=12.5"
    assert outage.status == "online via h:1"
    assert outage.failed(REFUSED, now=30.0) is not None  # a new outage is said at once again


def test_retries_are_jittered_and_never_wait_longer_than_the_cap() -> None:
    backoff = Backoff(rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(40)]
    assert max(delays) <= RETRY_CAP_S == 5.0
    assert delays[0] <= 1.0 and max(delays) > 2.5
    assert len(set(delays)) == len(delays), "no two devices should retry in lockstep"
    backoff.reset()
    assert backoff.next_delay() <= 1.0
