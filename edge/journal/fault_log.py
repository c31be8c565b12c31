"""What the log says while a part of the device fails (the camera, the clock, the outbox): the
homeowner reading the journal must see what broke, what that stops and how to fix it, without a
line at every probe. When to speak is edge/journal/fault_spell.py's, as for the broker link; a
traceback goes with a line only for what is no disk error (a bug)."""

from __future__ import annotations

import logging

from edge.journal.failures import expected
from edge.journal.fault_spell import REMIND_EVERY_S, FaultSpell


class FaultLog:
    def __init__(
        self, part: str, stops: str, fix: str, log: logging.Logger, every_s: float = REMIND_EVERY_S
    ) -> None:
        """``stops``: what the fault prevents; ``fix``: what the homeowner can do about it;
        ``log``: the logger of the part's own module."""
        self._part, self._stops, self._fix, self._log = part, stops, fix, log
        self._spell = FaultSpell(every_s)

    def failed(self, error: BaseException | str, now: float) -> None:
        """``error``: what failed, in words, or the exception itself (whose traceback is
        logged when it is a bug, not the world's doing)."""
        text = str(error)
        said = self._spell.failed(text, now)
        if said is None:
            return
        trace = error if isinstance(error, BaseException) and not expected(error) else None
        if said.kind == "first":
            self._log.error(
                'event=%s_fault error="%s" stops="%s" fix="%s"',
                self._part,
                text,
                self._stops,
                self._fix,
                exc_info=trace,
            )
        else:
            self._log.error(
                'event=%s_still_faulty error="%s" failures=%s faulty_s=%.0f fix="%s"',
                self._part,
                text,
                said.failures,
                said.lasted_s,
                self._fix,
                exc_info=trace,
            )

    def ok(self, now: float) -> None:
        """The part works (again): said once, when it was failing."""
        ended = self._spell.ended(now)
        if ended is not None:
            self._log.info(
                "event=%s_recovered failures=%s faulty_s=%.1f",
                self._part,
                ended.failures,
                ended.lasted_s,
            )
