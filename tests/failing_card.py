"""An outbox on a card that fails to read: `pending` raises a disk I/O error while `failing`
is set, and counts every try, so a test can see the sender try again and recover."""

from __future__ import annotations

import sqlite3

from edge.store.outbox import Channel, Entry, Outbox


class UnreadableOutbox(Outbox):
    failing = True

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.reads: list[Channel] = []
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def pending(self, after_id: int, limit: int, channel: Channel = "mqtt") -> list[Entry]:
        self.reads.append(channel)
        if self.failing:
            raise sqlite3.OperationalError("disk I/O error")
        return super().pending(after_id, limit, channel)
