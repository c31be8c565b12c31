"""Photo upload by HTTPS PUT (docs/protocol.md §5, `photos.transport = "http"`), from the disk
outbox.

One photo at a time, oldest first. A 2xx answer removes it from the outbox; 5xx, 401, 408, 429
and network failures are retried with exponential backoff and jitter (honouring Retry-After);
any other 4xx is final: reported (``on_rejected``) and dropped from the outbox, while the
local copy stays for the homeowner. A photo that fails three times in a row is set aside for
the longest backoff while the ones behind it go: a server that chokes on one photo does not
hold back the rest. The same photo may be PUT more than once.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import random
import sqlite3
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from edge.journal.fault_log import FaultLog
from edge.store.outbox import Entry, Outbox
from edge.workers.outbox_worker import OutboxWorker
from edge.workers.pump import OUTBOX_FAULT_FIX, OUTBOX_FAULT_STOPS

log = logging.getLogger(__name__)

RETRYABLE = {408, 429}
UNAUTHORISED = 401  # retried too: a token that expired is fixed without losing the photos
TOKEN_FIX = (
    "check photos.http_token_file: the upload server does not take its token (it is "
    "read again at every try; photos wait on disk meanwhile)"
)
RETRY_UNREADABLE_S = 5.0
SET_ASIDE_AFTER = 3  # failed tries in a row before a photo lets the ones behind it go first
TIMEOUT_S = 30.0
NETWORK_FIX = (
    "check that the host in photos.http_url is up and reachable; photos wait on disk "
    "and are sent again"
)
TLS_FIX = (
    "check photos.http_ca_file (the CA that signed the upload server's certificate), that "
    "photos.http_url names the host in that certificate, and the clock"
)


class PhotoUploader(OutboxWorker):
    def __init__(
        self,
        outbox: Outbox,
        *,
        token_file: Path | None,
        ca_file: Path | None,
        on_rejected: Callable[[Entry, int], None],
        backoff_max_s: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(outbox, "photo-upload")
        self._token_file = token_file
        self._context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self._on_rejected = on_rejected
        self._backoff_max = backoff_max_s
        self._rng = rng or random.Random()
        self._attempts: dict[int, int] = {}  # outbox id -> failed tries in a row
        self._set_aside: dict[int, float] = {}  # outbox id -> when it is tried again
        self._faults = FaultLog("photo_upload_queue", OUTBOX_FAULT_STOPS, OUTBOX_FAULT_FIX, log)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                entry = self._next()
            except Exception as exc:  # noqa: BLE001 - the disk, most likely: said, and tried
                self._faults.failed(exc, time.monotonic())  # again, never a dead thread
                self._stop.wait(RETRY_UNREADABLE_S)
                continue
            self._faults.ok(time.monotonic())
            if entry is None:
                self._wake.wait(self._until_set_aside_due())
                self._wake.clear()
                continue
            try:
                delay = self._send(entry)
            except Exception:
                log.exception("event=photo_upload_crashed id=%s", entry.id)
                delay = 1.0
            if delay is None:
                failures = 0
                self._attempts.pop(entry.id, None)
                self._set_aside.pop(entry.id, None)
                continue
            failures += 1
            self._attempts[entry.id] = self._attempts.get(entry.id, 0) + 1
            if self._attempts[entry.id] >= SET_ASIDE_AFTER and self._others_wait(entry):
                # This photo keeps failing: the ones behind it get their turn, and it is
                # tried again later (a server that fails on one photo must not stop them all).
                del self._attempts[entry.id]
                self._set_aside[entry.id] = time.monotonic() + self._backoff_max
            backoff = min(self._backoff_max, max(delay, 2.0 ** min(failures, 16) / 2))
            self._stop.wait(backoff * self._rng.uniform(0.5, 1.0))

    def _next(self) -> Entry | None:
        """The oldest photo waiting that is not set aside (or whose wait is over)."""
        now = time.monotonic()
        for entry_id in [i for i, due in self._set_aside.items() if due <= now]:
            del self._set_aside[entry_id]
        for entry in self._outbox.pending(0, len(self._set_aside) + 1, channel="http"):
            if entry.id not in self._set_aside:
                return entry
        return None

    def _others_wait(self, entry: Entry) -> bool:
        """Photos wait besides ``entry``: only then is setting it aside worth its wait (a queue
        that cannot be read is said by the next look at it)."""
        try:
            waiting = self._outbox.pending(0, 2, channel="http")
        except (sqlite3.Error, OSError):
            return False
        return any(other.id != entry.id for other in waiting)

    def _until_set_aside_due(self) -> float | None:
        """How long until a photo set aside is tried again (None: nothing is set aside)."""
        if not self._set_aside:
            return None
        return max(0.0, min(self._set_aside.values()) - time.monotonic())

    def _send(self, entry: Entry) -> float | None:
        """PUT one photo. None when it is settled, else the seconds to wait before retrying."""
        try:
            body = entry.body()
        except OSError as exc:
            log.error("event=photo_upload_unreadable id=%s error=%s", entry.id, exc)
            self._outbox.remove([entry.id])
            return None
        kind = "video/mp4" if entry.file and entry.file.suffix == ".mp4" else "image/jpeg"
        status, retry_after = self._put(entry.topic, body, kind)
        if status is not None and 200 <= status < 300:
            log.info("event=photo_uploaded url=%s status=%s", entry.topic, status)
            self._outbox.remove([entry.id])
            return None
        if status == UNAUTHORISED:  # the token is read again at every try: fixed, it works
            log.warning(
                'event=photo_upload_retry url=%s status=%s fix="%s"', entry.topic, status, TOKEN_FIX
            )
            return retry_after or 0.0
        if status is None or status >= 500 or status in RETRYABLE:
            log.warning("event=photo_upload_retry url=%s status=%s", entry.topic, status)
            return retry_after or 0.0
        log.error(
            'event=photo_upload_rejected url=%s status=%s fix="%s"',
            entry.topic,
            status,
            rejected_fix(status),
        )
        self._on_rejected(entry, status)
        self._outbox.remove([entry.id])
        return None

    def _put(self, url: str, body: bytes, kind: str) -> tuple[int | None, float | None]:
        headers = {
            "Content-Type": kind,
            "X-Doorstep-Sha256": hashlib.sha256(body).hexdigest(),
        }
        if self._token_file is not None:
            try:
                token = self._token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                log.error("event=upload_token_unreadable error=%s", exc)
                return None, None
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=self._context) as r:
                return r.status, None
        except urllib.error.HTTPError as exc:
            return exc.code, _seconds(exc.headers.get("Retry-After"))
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            tls = isinstance(getattr(exc, "reason", exc), ssl.SSLError)
            log.warning(
                'event=photo_upload_network_error url=%s error=%s fix="%s"',
                url,
                exc,
                TLS_FIX if tls else NETWORK_FIX,
            )
            return None, None


def rejected_fix(status: int) -> str:
    """What to check when the upload server refuses a photo for good (a 4xx)."""
    if status == 403:
        return (
            "the upload server refused it: check photos.http_token_file, and that its token "
            "may write under photos.http_url"
        )
    if status == 413:
        return "the upload server takes smaller bodies than this photo: raise its limit"
    return "check photos.http_url: the server does not take a PUT there"


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
