"""What the log says while a part of the device fails (the camera, the clock, the outbox): the
homeowner reading the journal must see what broke, what that stops and how to fix it, without a
line at every probe. The first failure is logged at once, then a reminder at most every
`every_s` with a count (sooner when the error changes), and the recovery says how long the
fault lasted, as the broker link does (transport/link_health.py). The caller hands in the
monotonic time; a traceback goes with a line only for what is no disk error (a bug)."""

from __future__ import annotations

import logging

from edge.failures import expected

REMIND_EVERY_S = 60.0


class FaultLog:
    def __init__(self, part: str, stops: str, fix: str, log: logging.Logger,
                 every_s: float = REMIND_EVERY_S) -> None:
        """``stops``: what the fault prevents; ``fix``: what the homeowner can do about it;
        ``log``: the logger of the part's own module."""
        self._part, self._stops, self._fix, self._log = part, stops, fix, log
        self._every = every_s
        self._failures = 0
        self._since: float | None = None  # monotonic start of the fault
        self._last_said: float | None = None
        self._last_error: str | None = None

    def failed(self, error: BaseException | str, now: float) -> None:
        """``error``: what failed, in words, or the exception itself (whose traceback is
        logged when it is a bug, not the world's doing)."""
        self._failures += 1
        text = str(error)
        trace = error if isinstance(error, BaseException) and not expected(error) else None
        if self._since is None:
            self._since = now
            self._last_said, self._last_error = now, text
            self._log.error("event=%s_fault error=\"%s\" stops=\"%s\" fix=\"%s\"", self._part,
                            text, self._stops, self._fix, exc_info=trace)
            return
        assert self._last_said is not None
        if text == self._last_error and now - self._last_said < self._every:
            return
        self._last_said, self._last_error = now, text
        self._log.error("event=%s_still_faulty error=\"%s\" failures=%s faulty_s=%.0f "
                        "fix=\"%s\"", self._part, text, self._failures, now - self._since,
                        self._fix, exc_info=trace)

    def ok(self, now: float) -> None:
        """The part works (again): said once, when it was failing."""
        if self._since is None:
            return
        self._log.info("event=%s_recovered failures=%s faulty_s=%.1f", self._part,
                       self._failures, now - self._since)
        self._failures, self._since, self._last_said, self._last_error = 0, None, None, None
