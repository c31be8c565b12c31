"""The last seconds of video, and the clips cut from them: no I/O and no clock of its own (times
are the sensor's, in monotonic nanoseconds, passed in), so it is tested as plain data.

While no clip is open only `pre_s` (from the keyframe before it) is kept: memory is bounded by
the pre-roll, not by how long the device runs. An open clip keeps everything from its start, up
to `max_s`; it is cut at `max_s` (said: truncated) however long its hold lasts."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.hardware.h264 import Packet

NS = 1_000_000_000


@dataclass(frozen=True)
class ClipSpan:
    """What a clip should cover: from ``start_ns`` (its trigger minus the pre-roll) to
    ``end_ns`` (None: until it is closed, then `post_s` more)."""

    start_ns: int
    end_ns: int | None


@dataclass
class _Open:
    token: object
    key: str | None  # the hold it films until it is closed (None: a fixed span)
    span: ClipSpan
    merge: object = None  # a fixed span asked for again while it runs is made longer


@dataclass(frozen=True)
class Cut:
    """A clip that is over: its packets (from a keyframe), and how it ended."""

    token: object
    packets: Sequence[Packet]
    truncated: bool
    end_ns: int  # where it was meant to end (past the last packet when the camera went quiet)

    def max_gap_s(self) -> float:
        """The longest wait between two frames, or between the last and the clip's end."""
        times = [p.sensor_ns for p in self.packets] + [self.end_ns]
        return max((b - a for a, b in itertools.pairwise(times)), default=0) / NS


@dataclass
class ClipRing:
    pre_ns: int
    post_ns: int
    max_ns: int
    _packets: deque[Packet] = field(default_factory=deque)
    _open: list[_Open] = field(default_factory=list)

    def open(
        self, token: object, now_ns: int, key: str | None = None, merge: object = None
    ) -> bool:
        """A clip from `pre_s` before ``now_ns``: with a ``key``, until ``close(key)`` (then
        `post_s` more); without, until `post_s` after ``now_ns``. A fixed span whose ``merge``
        equals one still running makes that one longer instead (a doorbell pressed again and
        again is one clip, up to `max_s`): False then."""
        if key is None and merge is not None:
            for clip in self._open:
                if clip.merge == merge and clip.span.end_ns is not None:
                    clip.span = ClipSpan(clip.span.start_ns, now_ns + self.post_ns)
                    return False
        end = None if key is not None else now_ns + self.post_ns
        self._open.append(_Open(token, key, ClipSpan(now_ns - self.pre_ns, end), merge))
        return True

    def close(self, key: str, now_ns: int) -> bool:
        """The clip of ``key`` ends `post_s` after ``now_ns``; False when none is open."""
        for clip in self._open:
            if clip.key == key and clip.span.end_ns is None:
                clip.span = ClipSpan(clip.span.start_ns, now_ns + self.post_ns)
                return True
        return False

    def add(self, packet: Packet) -> list[Cut]:
        """Keep ``packet``; the clips it completes (it is past their end, or their cap)."""
        self._packets.append(packet)
        cuts = self._finished(packet.sensor_ns, quiet=False)
        self._forget_before(packet.sensor_ns)
        return cuts

    def overdue(self, now_ns: int, grace_ns: int) -> list[Cut]:
        """Clips whose end passed ``grace_ns`` ago with no frame since: the camera went quiet,
        and they are cut with what there is."""
        return self._finished(now_ns - grace_ns, quiet=True)

    def held_bytes(self) -> int:
        return sum(len(p.data) for p in self._packets)

    def _finished(self, at_ns: int, quiet: bool) -> list[Cut]:
        cuts: list[Cut] = []
        for clip in list(self._open):
            start, end = clip.span.start_ns, clip.span.end_ns
            capped = at_ns - start >= self.max_ns and not quiet
            if not capped and (end is None or at_ns < end):
                continue
            stop = start + self.max_ns if capped else end
            assert stop is not None
            self._open.remove(clip)
            cuts.append(Cut(clip.token, self._span(start, stop), capped, stop))
        return cuts

    def _span(self, start_ns: int, end_ns: int) -> list[Packet]:
        """From the last keyframe at or before ``start_ns`` (else the first one kept) to
        ``end_ns``."""
        packets = [p for p in self._packets if p.sensor_ns <= end_ns]
        keys = [n for n, p in enumerate(packets) if p.keyframe]
        if not keys:
            return []
        first = max((n for n in keys if packets[n].sensor_ns <= start_ns), default=keys[0])
        return packets[first:]

    def _forget_before(self, now_ns: int) -> None:
        """Drop what no clip can need: before the keyframe that starts the oldest span."""
        keep_from = min([now_ns - self.pre_ns, *(c.span.start_ns for c in self._open)])
        while len(self._packets) > 1:
            # The second packet's keyframe-ness decides: the first may go only when what
            # follows it still starts a clip in time.
            nxt = next((p for p in itertools.islice(self._packets, 1, None) if p.keyframe), None)
            if nxt is None or nxt.sensor_ns > keep_from:
                return
            while self._packets[0] is not nxt:
                self._packets.popleft()
