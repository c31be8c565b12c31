"""The core loop's one queue, in three lanes.

1. The house's own inputs (door, lock, camera, timers, a stop request) go first and are never
   dropped: they are few, and a lock that reads locked must not be taken for jammed because it
   waited in line.
2. Broker messages that may be commands are bounded in count and bytes: beyond the bound they
   are dropped and counted, so a flood costs neither memory nor the door's responsiveness.
3. Broker messages that cannot be commands (an unknown `cmd/NAME`, a payload that is no pass)
   are not queued at all, only tallied by command and reason: junk never takes the place of a
   real pass, and the core turns the tally into (coalesced) rejections.
"""

from __future__ import annotations

import itertools
import queue
import threading
from dataclasses import dataclass
from typing import Any

MAX_QUEUED_MESSAGES = 256
MAX_QUEUED_BYTES = 1024 * 1024
MAX_JUNK_KINDS = 64  # distinct (command, reason) pairs tallied; the rest share one per reason
_JUNK = object()  # wakes the core when the tally goes from empty to something


@dataclass(frozen=True)
class Inbound:
    """A message from the broker: kind is "cmd", "owner" or "sim", name the rest of the topic.
    ``live``: sent while the device listened, not a retained or session-queued copy."""

    kind: str
    name: str
    payload: bytes
    live: bool = True


@dataclass(frozen=True)
class Junk:
    """What was tallied since the core last looked: ((cmd, reason, count), ...)."""

    tally: tuple[tuple[str, str, int], ...]


class Inbox:
    def __init__(
        self, max_messages: int = MAX_QUEUED_MESSAGES, max_bytes: int = MAX_QUEUED_BYTES
    ) -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._messages = 0  # broker messages queued now
        self._bytes = 0
        self._dropped = 0  # since the last take_dropped()
        self._junk: dict[tuple[str, str], int] = {}

    def put(self, item: Any) -> None:
        self.offer(item)

    def offer(self, item: Any) -> bool:
        """Queue ``item``; False when it was a broker message over the bound, and dropped."""
        if isinstance(item, Inbound):
            with self._lock:
                size = len(item.payload)
                if self._messages >= self._max_messages or self._bytes + size > self._max_bytes:
                    self._dropped += 1
                    return False
                self._messages += 1
                self._bytes += size
        self._queue.put((1 if isinstance(item, Inbound) else 0, next(self._order), item))
        return True

    def put_junk(self, cmd: str, reason: str) -> None:
        """Tally a broker message that is no command; it takes no room in the queue."""
        with self._lock:
            key = (cmd, reason)
            if key not in self._junk and len(self._junk) >= MAX_JUNK_KINDS:
                key = ("*", reason)
            wake = not self._junk
            self._junk[key] = self._junk.get(key, 0) + 1
        if wake:
            self._queue.put((2, next(self._order), _JUNK))

    def get(self, timeout: float) -> Any:
        """The most urgent item, oldest first (a Junk tally last); raises queue.Empty after
        ``timeout``."""
        item = self._queue.get(timeout=timeout)[2]
        with self._lock:
            if isinstance(item, Inbound):
                self._messages -= 1
                self._bytes -= len(item.payload)
            elif item is _JUNK:
                tally, self._junk = self._junk, {}
                return Junk(tuple((cmd, reason, n) for (cmd, reason), n in tally.items()))
        return item

    def take_dropped(self) -> int:
        """How many broker messages were dropped since the last call."""
        with self._lock:
            dropped, self._dropped = self._dropped, 0
        return dropped
