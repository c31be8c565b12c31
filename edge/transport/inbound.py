"""Inbound routing, on the broker link's thread: each message on the device's own topics goes to
the handler of its kind (`cmd`, `owner`, `sim`); one on no topic of ours is tallied and said once
a minute (a flood must not flood the journal). The handlers (edge.loop.intake's for commands,
the simulated world's for `sim/*`) only queue or tally: nothing is decided here."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from edge.contract.topics import Topics
from edge.journal.throttle import Throttle

log = logging.getLogger(__name__)

UNEXPECTED_REPORT_EVERY_S = 60.0
Handler = Callable[[str, bytes, bool], None]  # the name after the kind, the payload, live


class InboundRouter:
    def __init__(self, topics: Topics, handlers: Mapping[str, Handler]) -> None:
        self._topics = topics
        self._handlers = dict(handlers)
        self._unexpected = Throttle(UNEXPECTED_REPORT_EVERY_S)

    def __call__(self, topic: str, payload: bytes, live: bool) -> None:
        parsed = self._topics.parse_inbound(topic)
        if parsed is None:
            if self._unexpected.due(time.monotonic()):
                log.warning(
                    "event=unexpected_topic topic=%s count=%s", topic, self._unexpected.take()
                )
            return
        kind, name = parsed
        self._handlers[kind](name, payload, live)
