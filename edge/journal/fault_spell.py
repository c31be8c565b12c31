"""When to speak about a part that keeps failing: the first failure at once, then a reminder at
most every `every_s` (sooner when what fails changes), and the recovery once, with how long the
fault lasted. Pure: the caller hands in the monotonic time and says what it is told to. Shared
by the parts' fault log (edge/journal/fault_log.py) and the broker link
(transport/link_health.py), so a homeowner reads every fault in the journal the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

REMIND_EVERY_S = 60.0


@dataclass(frozen=True)
class Said:
    """What to say now: ``first`` or ``reminder``, with the count and how long it has lasted."""

    kind: Literal["first", "reminder"]
    failures: int
    lasted_s: float


@dataclass(frozen=True)
class Ended:
    """The fault is over: how many failures it held and how long it lasted."""

    failures: int
    lasted_s: float


class FaultSpell:
    def __init__(self, every_s: float = REMIND_EVERY_S) -> None:
        self._every = every_s
        self._failures = 0
        self._since: float | None = None  # monotonic start of the fault
        self._last_said: float | None = None
        self._last_what: str | None = None

    @property
    def failures(self) -> int:
        return self._failures

    def began(self, now: float) -> None:
        """The fault started before its first failure (a link that was up went down)."""
        if self._since is None:
            self._since = now

    def failed(self, what: str, now: float) -> Said | None:
        """One more failure; ``what`` names it (a changed one is said at once)."""
        self._failures += 1
        self.began(now)
        assert self._since is not None
        last = self._last_said
        if last is not None and what == self._last_what and now - last < self._every:
            return None
        self._last_said, self._last_what = now, what
        return Said("first" if last is None else "reminder", self._failures, now - self._since)

    def ended(self, now: float) -> Ended | None:
        """The part works (again); None when there was no fault to end."""
        ended = None if self._since is None else Ended(self._failures, now - self._since)
        self._failures, self._since, self._last_said, self._last_what = 0, None, None, None
        return ended
