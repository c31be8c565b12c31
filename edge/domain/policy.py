"""The homeowner's rules for in-home deliveries (config `[policy]`, docs/protocol.md §11): when
the door may open for a courier, for which couriers, and which keys may grant it.

Pure: the time zone arrives as a loaded tzinfo and the time as the step's wall clock, so the
rules are tested without I/O or a clock. Hours are local wall-clock times: on the day clocks go
forward the skipped hour never comes, and on the day they go back the repeated hour counts
twice, exactly as a homeowner reading their own clock would expect.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from edge.domain.passes import Mode, Pass, Reason, Signer

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")


@dataclass(frozen=True)
class Window:
    """From ``start`` up to (not including) ``end``, in minutes after local midnight."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> Window:
        """ "HH:MM-HH:MM", start before end, end at most 24:00; ValueError says what is wrong."""
        match = WINDOW.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        window = cls(h1 * 60 + m1, h2 * 60 + m2)
        if window.end > 24 * 60:
            raise ValueError(f"{text!r} ends after 24:00")
        if window.start >= window.end:
            raise ValueError(
                f"{text!r} does not end after it starts (split a window that "
                "crosses midnight in two)"
            )
        return window

    def __contains__(self, minute: int) -> bool:
        return self.start <= minute < self.end


@dataclass(frozen=True)
class InHomeHours:
    """Per weekday, the windows in which an in-home `at_door` may open the door. A day
    without windows has none."""

    zone: tzinfo
    days: Mapping[int, tuple[Window, ...]]  # 0 = Monday

    @classmethod
    def parse(cls, zone: tzinfo, table: Mapping[str, Sequence[str]]) -> InHomeHours:
        return cls(
            zone,
            {
                DAYS.index(day): tuple(Window.parse(w) for w in windows)
                for day, windows in table.items()
            },
        )

    def allows(self, wall: float) -> bool:
        local = datetime.fromtimestamp(wall, self.zone)
        minute = local.hour * 60 + local.minute
        return any(minute in window for window in self.days.get(local.weekday(), ()))


@dataclass(frozen=True)
class Policy:
    in_home_hours: InHomeHours | None = None  # None: any time
    couriers: frozenset[str] | None = None  # courier ids allowed in-home; None: any courier


def grant_refusal(policy: Policy, p: Pass) -> Reason | None:
    """Why an `arriving` may not be accepted under the homeowner's rules (the hours are not
    asked: a courier may be early)."""
    assert p.mode is not None and p.courier is not None
    if p.mode not in p.signer.modes:
        return Reason.MODE_NOT_ALLOWED
    if (
        p.mode is Mode.IN_HOME
        and policy.couriers is not None
        and p.courier.id not in policy.couriers
    ):
        return Reason.COURIER_NOT_ALLOWED
    return None


def unlock_refusal(policy: Policy, courier_id: str, signer: Signer, wall: float) -> Reason | None:
    """Why an in-home `at_door` may not open the door under the homeowner's rules now: its key
    must be one that may grant in-home (a doorstep-only carrier's never opens the door), the
    courier must still be allowed, and it must be within the hours."""
    if Mode.IN_HOME not in signer.modes:
        return Reason.MODE_NOT_ALLOWED
    if policy.couriers is not None and courier_id not in policy.couriers:
        return Reason.COURIER_NOT_ALLOWED
    if policy.in_home_hours is not None and not policy.in_home_hours.allows(wall):
        return Reason.OUTSIDE_HOURS
    return None
