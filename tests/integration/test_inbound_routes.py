"""Inbound routing on the broker link's thread: each kind of topic to its handler, screened before
anything is queued; what is on no topic of ours is said, once a minute."""

from __future__ import annotations

import logging
import queue

from edge.contract.topics import Topics
from edge.crypto.verify import MAX_PASS_BYTES
from edge.loop.inbox import Inbound, Inbox, Junk
from edge.loop.intake import commands
from edge.transport.inbound import InboundRouter

TOPICS = Topics("doorstep", "porch-1")


def drained(inbox: Inbox) -> list[object]:
    items = []
    while True:
        try:
            items.append(inbox.get(timeout=0))
        except queue.Empty:
            return items


def test_each_kind_goes_to_its_handler_and_junk_is_only_tallied(caplog) -> None:
    inbox = Inbox()
    route = InboundRouter(TOPICS, commands(inbox))
    route("doorstep/porch-1/cmd/at_door", b"eyJ.a.b", True)
    route("doorstep/porch-1/owner/lock", b"LOCK", False)
    route("doorstep/porch-1/owner/lock", b"", True)  # a retained one being cleared: nothing
    route("doorstep/porch-1/owner/lock", b"x" * (MAX_PASS_BYTES + 1), True)
    route("doorstep/porch-1/cmd/open_sesame", b"eyJ.a.b", True)
    route("doorstep/porch-1/sim/door", b"open", True)  # a Pi plays no simulated world
    caplog.set_level(logging.WARNING, logger="edge.transport.inbound")
    for _ in range(3):
        route("doorstep/porch-2/cmd/at_door", b"eyJ.a.b", True)  # another device's
    items = drained(inbox)
    assert items[:2] == [
        Inbound("cmd", "at_door", b"eyJ.a.b", True),
        Inbound("owner", "lock", b"LOCK", False),
    ]
    [junk] = [item for item in items if isinstance(item, Junk)]
    assert {(cmd, reason) for cmd, reason, _ in junk.tally} == {
        ("owner/lock", "malformed"),
        ("open_sesame", "unknown_command"),
        ("sim/door", "unknown_command"),
    }
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "event=unexpected_topic" in said[0]
