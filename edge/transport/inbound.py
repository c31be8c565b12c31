"""Inbound routing, on the broker link's thread: each message on the device's own topics goes to
the handler of its kind (`cmd`, `owner`, `sim`); one on no topic of ours is tallied and said once
a minute (a flood must not flood the journal). The handlers only queue or tally: nothing is
decided here."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from edge.contract.topics import Topics
from edge.crypto.verify import MAX_PASS_BYTES
from edge.domain.passes import Reason
from edge.journal.throttle import Throttle
from edge.loop.inbox import Inbound, Inbox
from edge.loop.intake import MAX_ECHOED_NAME, screen

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
                log.warning("event=unexpected_topic topic=%s count=%s", topic,
                            self._unexpected.take())
            return
        kind, name = parsed
        self._handlers[kind](name, payload, live)


def commands(inbox: Inbox) -> dict[str, Handler]:
    """The handlers of a device with no simulated world: passes and owner commands are queued
    for the core, screened first; `sim/*` is refused as an unknown command."""
    def command(name: str, payload: bytes, live: bool) -> None:
        junk = screen(name, payload)
        if junk is not None:
            inbox.put_junk(name[:MAX_ECHOED_NAME], junk)
        else:
            inbox.put(Inbound("cmd", name, payload, live))

    def owner(name: str, payload: bytes, live: bool) -> None:
        if not payload:
            return  # a retained owner command being cleared (ours, under MQTT 3.1.1)
        if len(payload) > MAX_PASS_BYTES:
            inbox.put_junk(f"owner/{name}"[:MAX_ECHOED_NAME], Reason.MALFORMED)
        else:
            inbox.put(Inbound("owner", name, payload, live))

    def no_world(name: str, payload: bytes, live: bool) -> None:
        inbox.put_junk(f"sim/{name}"[:MAX_ECHOED_NAME], Reason.UNKNOWN_COMMAND)

    return {"cmd": command, "owner": owner, "sim": no_world}
