"""What the log says while a part of the device fails (the camera, the clock): the homeowner
reading the journal must see what broke, what that stops and how to fix it, without a line at
every probe. The first failure is logged at once, then a reminder at most every `every_s` with
a count (sooner when the error changes), and the recovery says how long the fault lasted, as
the broker link does (transport/link_health.py). No I/O: the caller hands in the monotonic time
and logs what comes back."""

from __future__ import annotations

import logging
from dataclasses import dataclass

REMIND_EVERY_S = 60.0


@dataclass(frozen=True)
class Said:
    level: int  # a logging level
    message: str  # key=value pairs, as every log line of the daemon


class FaultLog:
    def __init__(self, part: str, stops: str, fix: str, every_s: float = REMIND_EVERY_S) -> None:
        """``stops``: what the fault prevents; ``fix``: what the homeowner can do about it."""
        self._part, self._stops, self._fix, self._every = part, stops, fix, every_s
        self._failures = 0
        self._since: float | None = None  # monotonic start of the fault
        self._last_said: float | None = None
        self._last_error: str | None = None

    def failed(self, error: str, now: float) -> Said | None:
        self._failures += 1
        if self._since is None:
            self._since = now
            self._last_said, self._last_error = now, error
            return Said(logging.ERROR, f"event={self._part}_fault error=\"{error}\" "
                        f"stops=\"{self._stops}\" fix=\"{self._fix}\"")
        assert self._last_said is not None
        if error == self._last_error and now - self._last_said < self._every:
            return None
        self._last_said, self._last_error = now, error
        return Said(logging.ERROR, f"event={self._part}_still_faulty error=\"{error}\" "
                    f"failures={self._failures} faulty_s={now - self._since:.0f} "
                    f"fix=\"{self._fix}\"")

    def ok(self, now: float) -> Said | None:
        """The part works (again); None when it was not failing."""
        if self._since is None:
            return None
        said = Said(logging.INFO, f"event={self._part}_recovered failures={self._failures} "
                    f"faulty_s={now - self._since:.1f}")
        self._failures, self._since, self._last_said, self._last_error = 0, None, None, None
        return said
