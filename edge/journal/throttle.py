"""A repeated complaint in the log at most once per interval, with a count: a homeowner reads
"refused 4,812 times" once a minute, not 4,812 lines."""

from __future__ import annotations


class Throttle:
    """Lets a repeated complaint through at most once per ``every_s``, counting the rest."""

    def __init__(self, every_s: float) -> None:
        self._every = every_s
        self._next: float | None = None
        self._count = 0

    def due(self, now: float, count: int = 1) -> bool:
        """Count ``count`` occurrences; True when they should be said now."""
        self._count += count
        if self._next is not None and now < self._next:
            return False
        self._next = now + self._every
        return True

    @property
    def pending(self) -> bool:
        """Occurrences were counted that have not been said yet."""
        return self._count > 0

    def take(self) -> int:
        """How many occurrences since the last time it was said (this one included)."""
        count, self._count = self._count, 0
        return count
