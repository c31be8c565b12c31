"""The core's queue: the house's own inputs first and never dropped; broker messages bounded
in count and bytes, the excess dropped and counted."""

from __future__ import annotations

import queue

import pytest

from edge.domain.model import DoorMoved, LockReading, LockSensed
from edge.loop.inbox import Inbound, Inbox


def junk(size: int = 100) -> Inbound:
    return Inbound("cmd", "junk", b"x" * size)


def drain(inbox: Inbox) -> list:
    items = []
    while True:
        try:
            items.append(inbox.get(timeout=0))
        except queue.Empty:
            return items


def test_a_flood_is_bounded_and_counted_and_the_house_still_gets_in() -> None:
    inbox = Inbox(max_messages=10, max_bytes=10_000)
    accepted = [inbox.offer(junk()) for _ in range(1000)]
    assert accepted.count(True) == 10 and inbox.take_dropped() == 990
    assert inbox.offer(DoorMoved(True)) and inbox.offer(LockSensed(LockReading.LOCKED))
    items = drain(inbox)
    assert items[:2] == [DoorMoved(True), LockSensed(LockReading.LOCKED)]  # the house goes first
    assert len(items) == 12 and inbox.take_dropped() == 0


def test_bytes_bound_the_lane_too() -> None:
    inbox = Inbox(max_messages=100, max_bytes=1000)
    assert [inbox.offer(junk(400)) for _ in range(3)] == [True, True, False]
    inbox.get(timeout=0)
    assert inbox.offer(junk(400))  # room again once one was taken


@pytest.mark.parametrize("count", [1, 300])
def test_room_is_given_back_as_messages_are_taken(count: int) -> None:
    inbox = Inbox(max_messages=5, max_bytes=10**6)
    for _ in range(count):
        assert inbox.offer(junk())
        assert inbox.get(timeout=0) == junk()
    assert inbox.take_dropped() == 0
