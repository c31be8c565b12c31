"""Rejections are coalesced so a flood of junk cannot bury real events: per reason, the first
few in a minute become `command.rejected` events; the rest are counted, and when the minute is
over one more `command.rejected` says how many were suppressed. The cloud hears every reason
and every count, and a delivery's events never queue behind a storm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from edge.domain.model import Action, Emit, EventType, RejectionWindow

SAID_PER_WINDOW = 5
WINDOW_S = 60.0

Windows = tuple[RejectionWindow, ...]


def coalesce(
    windows: Windows, actions: Sequence[Action], now: float, repeat: int = 1
) -> tuple[Windows, list[Action]]:
    """Let each `command.rejected` in ``actions`` through, or count it in its reason's window.
    ``repeat``: each stands for that many identical rejections (a tally of junk); one of them
    may be said, the others are counted."""
    kept: list[Action] = []
    for action in actions:
        if not (isinstance(action, Emit) and action.type is EventType.COMMAND_REJECTED):
            kept.append(action)
            continue
        reason = action.fields["reason"]
        windows, summary = _close(windows, reason, now)
        kept += summary
        window = next((w for w in windows if w.reason == reason), None) or RejectionWindow(
            reason, now
        )
        said = window.said < SAID_PER_WINDOW
        if said:
            kept.append(action)
        hidden = repeat - said
        window = replace(
            window,
            said=window.said + said,
            suppressed=window.suppressed + hidden,
            cmd=action.fields["cmd"] if hidden else window.cmd,
        )
        windows = tuple(w for w in windows if w.reason != reason) + (window,)
    return windows, kept


def flush(windows: Windows, now: float) -> tuple[Windows, list[Action]]:
    """Close every window whose minute is over; one summary for each that suppressed some."""
    summaries: list[Action] = []
    for reason in [w.reason for w in windows if w.opened + WINDOW_S <= now]:
        windows, more = _close(windows, reason, now)
        summaries += more
    return windows, summaries


def next_flush(windows: Windows) -> float | None:
    """When the next summary is due (monotonic), or None when none is owed."""
    due = [w.opened + WINDOW_S for w in windows if w.suppressed]
    return min(due) if due else None


def _close(windows: Windows, reason: str, now: float) -> tuple[Windows, list[Action]]:
    window = next((w for w in windows if w.reason == reason), None)
    if window is None or window.opened + WINDOW_S > now:
        return windows, []
    rest = tuple(w for w in windows if w.reason != reason)
    if not window.suppressed:
        return rest, []
    return rest, [
        Emit(
            EventType.COMMAND_REJECTED,
            None,
            {
                "cmd": window.cmd,
                "reason": reason,
                "jti": None,
                "suppressed": window.suppressed,
                "window_s": WINDOW_S,
            },
        )
    ]
