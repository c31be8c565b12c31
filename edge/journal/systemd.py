"""systemd's notify protocol (sd_notify(3)): one datagram per message to $NOTIFY_SOCKET.
Outside systemd (no socket in the environment) every call does nothing."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        for_us = not pid or pid == str(os.getpid())
        # Ping twice per period, as sd_watchdog_enabled(3) advises.
        self.watchdog_interval_s = int(usec) / 2e6 if usec.isdigit() and for_us else None

    def send(self, *lines: str) -> None:
        if not self._address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(lines).encode(), self._address)
        except OSError as exc:  # systemd gone or socket unreachable: never fatal
            log.warning("event=sd_notify_failed error=%s", exc)

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping: relocking, then offline")


STATE_FAULTS = {  # what the retained `state` shows failing, for the STATUS line
    ("lock", "jammed"): "lock jammed: the door may be unlocked; re-driven until it reads locked",
    ("camera", "fault"): "camera fault: in-home deliveries and owner unlocks are refused",
    ("clock", "unsynced"): "clock not synchronised: every pass is refused",
    ("storage", "full"): "storage full: free space on the data dir's disk",
    ("storage", "fault"): "database damaged: every pass is refused; run doorstep repair",
}


class StatusLine:
    """systemd's STATUS: the broker link's line, then each part the published state shows
    failing (a jammed lock, the camera, the clock, full storage), so `systemctl status doorstep`
    shows what stops deliveries. The link and the core report from their own threads: each
    change is sent under the lock, so a newer line never goes out before an older one."""

    def __init__(self, notifier: Notifier, link: str) -> None:
        self._notifier = notifier
        self._lock = threading.Lock()
        self._link = link
        self._faults: list[str] = []

    @property
    def line(self) -> str:
        with self._lock:
            return self._line()

    def link(self, status: str) -> None:
        with self._lock:
            self._link = status
            self._notifier.status(self._line())

    def shown(self, state: bytes) -> None:
        """The retained `state` as published: each part it shows failing joins the line (sent
        only when that changes)."""
        body = json.loads(state)
        faults = [
            status for (field, value), status in STATE_FAULTS.items() if body.get(field) == value
        ]
        with self._lock:
            if faults != self._faults:
                self._faults = faults
                self._notifier.status(self._line())

    def _line(self) -> str:
        return "; ".join([self._link, *self._faults])


class Watchdog:
    """Pings systemd's watchdog, at most once per interval, only when the core loop calls
    ``beat``: a stuck loop stops the pings and systemd restarts the daemon."""

    def __init__(self, notifier: Notifier, clock: Callable[[], float] = time.monotonic) -> None:
        self._notifier = notifier
        self._interval = notifier.watchdog_interval_s
        self._clock = clock
        self._next = 0.0

    def beat(self) -> None:
        if self._interval is None:
            return
        now = self._clock()
        if now >= self._next:
            self._next = now + self._interval
            self._notifier.send("WATCHDOG=1")
