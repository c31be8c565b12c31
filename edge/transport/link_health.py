"""What the broker link says when it cannot connect, and how long it waits before trying again.

A daemon that cannot reach its broker must say why, in words a homeowner can act on, without
flooding the journal: the first failure is logged at once, then at most one summary a minute
with a count (sooner when the cause changes), and the recovery says how long it was offline.
No I/O here: the link hands in what happened and the monotonic time, and logs what comes back.
"""

from __future__ import annotations

import errno
import random
import socket
import ssl
from dataclasses import dataclass
from typing import Any

from edge.journal.fault_spell import REMIND_EVERY_S, FaultSpell

SUMMARY_EVERY_S = REMIND_EVERY_S
RETRY_FIRST_S = 1.0
RETRY_CAP_S = 5.0  # the longest wait before a retry: a broker that is back is used within 5 s


@dataclass(frozen=True)
class Failure:
    """Why one connection attempt failed: a short ``cause`` for machines, ``detail`` and ``fix``
    for the homeowner."""

    # refused | timeout | dns | tls | bad_credentials | not_authorised | network | protocol
    cause: str
    detail: str
    fix: str


def failure_of(exc: BaseException, host: str, port: int) -> Failure:
    """Classify an exception raised while opening the connection (TCP, DNS, TLS)."""
    where = f"{host}:{port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Failure(
            "tls",
            f"certificate verify failed: {exc.verify_message}",
            "check mqtt.tls.ca_file (the CA that signed the broker's certificate), "
            "that mqtt.host is the name in that certificate, and the clock",
        )
    if isinstance(exc, ssl.SSLError):
        return Failure(
            "tls",
            f"TLS handshake failed: {getattr(exc, 'reason', None) or exc}",
            "check [mqtt.tls]: the client certificate and key, and that the broker trusts their CA",
        )
    if isinstance(exc, socket.gaierror):
        return Failure(
            "dns",
            f"cannot resolve {host!r}: {exc.strerror or exc}",
            "check mqtt.host and this device's network and DNS",
        )
    if isinstance(exc, ConnectionRefusedError):
        return Failure(
            "refused",
            f"nothing accepts connections on {where}",
            "is the broker running? check mqtt.host and mqtt.port",
        )
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return Failure(
            "timeout",
            f"no answer from {where}",
            "check the network, a firewall, and mqtt.host and mqtt.port",
        )
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return Failure(
            "network",
            f"{where} is unreachable: {exc.strerror}",
            "check this device's network connection",
        )
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return Failure(
        "network",
        f"cannot connect to {where}: {text}",
        "check this device's network connection and the broker",
    )


def failure_of_refusal(reason: Any, login: bool) -> Failure:
    """Classify a broker's refusal of the connection (a CONNACK reason code of paho's).
    ``login``: whether the device sent a user name. (mosquitto answers a wrong password with
    "Not authorized", so the fix names the password whenever there was one.)"""
    name = str(reason)
    value = getattr(reason, "value", None)
    if value in (0x86, 0x8C) or "user name or password" in name.lower():
        return Failure(
            "bad_credentials",
            f"the broker refused the login: {name}",
            "check mqtt.username and the password in mqtt.password_file",
        )
    if value == 0x87 or "not authori" in name.lower():
        return Failure(
            "not_authorised",
            f"the broker refused this device: {name}",
            "check mqtt.username and the password in mqtt.password_file, and that "
            "the broker's users and ACL allow this device"
            if login
            else "the broker requires a login: set mqtt.username and mqtt.password_file, "
            "or a client certificate in [mqtt.tls]",
        )
    return Failure(
        "protocol",
        f"the broker refused the connection: {name}",
        "check mqtt.protocol and the broker's settings for this client",
    )


def failure_of_closed(paho_error: str | None) -> Failure:
    """The connection closed before the broker answered; paho's last error says why, if
    anything does (a TLS alert when the broker refused our client certificate)."""
    if paho_error and ("ssl" in paho_error.lower() or "tls" in paho_error.lower()):
        return Failure(
            "tls",
            f"the broker ended the TLS session: {paho_error}",
            "check mqtt.tls.cert_file and key_file: the broker must trust the CA "
            "that signed them, and they must not be expired",
        )
    return Failure(
        "network",
        "the connection closed before the broker answered"
        + (f": {paho_error}" if paho_error else ""),
        "check mqtt.port, [mqtt.tls] and the broker's log",
    )


class Backoff:
    """Waits between attempts: doubling from 1 s to a 5 s cap, each scaled by a random factor
    in [0.5, 1], so a fleet that lost its broker does not come back in lockstep."""

    def __init__(
        self,
        first_s: float = RETRY_FIRST_S,
        cap_s: float = RETRY_CAP_S,
        rng: random.Random | None = None,
    ) -> None:
        self._first = first_s
        self._cap = cap_s
        self._rng = rng or random.Random()
        self._failures = 0

    def next_delay(self) -> float:
        delay = min(self._cap, self._first * 2 ** min(self._failures, 16))
        self._failures += 1
        return float(delay * self._rng.uniform(0.5, 1.0))

    def reset(self) -> None:
        self._failures = 0


@dataclass(frozen=True)
class Report:
    level: str  # "warning" | "info"
    message: str  # key=value pairs, as every log line of the daemon


class OutageLog:
    """Counts failed attempts since the link was last up and decides what to log (when to
    speak is edge/journal/fault_spell.py's, as for the device's other parts)."""

    def __init__(self, broker: str, every_s: float = SUMMARY_EVERY_S) -> None:
        self._broker = broker
        self._spell = FaultSpell(every_s)
        self._last: Failure | None = None

    @property
    def status(self) -> str:
        """The systemd STATUS line."""
        if self._last is None:
            return f"online via {self._broker}"
        failures = self._spell.failures
        return (
            f"locked; broker {self._broker} unreachable ({self._last.cause}: "
            f"{self._last.detail}), {failures} failed attempt"
            f"{'s' * (failures != 1)}; retrying"
        )

    def disconnected(self, now: float) -> None:
        """The link was up and went down: the outage starts now."""
        self._spell.began(now)

    def failed(self, failure: Failure, now: float) -> Report | None:
        self._last = failure
        said = self._spell.failed(failure.cause, now)
        if said is None:
            return None
        event = "broker_unreachable" if said.kind == "first" else "broker_still_unreachable"
        return Report(
            "warning",
            (
                f"event={event} "
                f"broker={self._broker} cause={failure.cause} failures={said.failures} "
                f'offline_s={said.lasted_s:.0f} detail="{failure.detail}" '
                f'fix="{failure.fix}"'
            ),
        )

    def connected(self, now: float) -> Report:
        self._last = None
        ended = self._spell.ended(now)
        if ended is None:
            return Report("info", f"event=mqtt_connected broker={self._broker}")
        return Report(
            "info",
            f"event=mqtt_connected broker={self._broker} "
            f"after_failures={ended.failures} offline_s={ended.lasted_s:.1f}",
        )
