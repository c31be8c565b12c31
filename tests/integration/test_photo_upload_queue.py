"""The photo uploader's own thread outlives a queue it cannot read (a failing card): said once
with its fix, tried again, and said recovered; a dead thread would have uploaded nothing more
until a restart, without a word."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from edge.store.db import Database
from edge.store.outbox import Channel, Entry, Outbox
from edge.transport import http_upload
from edge.transport.http_upload import PhotoUploader
from tests.waiting import wait_until


def test_an_upload_queue_that_cannot_be_read_is_said_and_tried_again(
        tmp_path: Path, caplog, monkeypatch) -> None:
    monkeypatch.setattr(http_upload, "RETRY_UNREADABLE_S", 0.05)
    caplog.set_level(logging.INFO, logger="edge.transport.http_upload")
    failing, reads = [True], []

    class Unreadable(Outbox):
        def pending(self, after_id: int, limit: int, channel: Channel = "mqtt") -> list[Entry]:
            reads.append(channel)
            if failing[0]:
                raise sqlite3.OperationalError("disk I/O error")
            return super().pending(after_id, limit, channel)

    uploader = PhotoUploader(Unreadable(Database(tmp_path / "doorstep.sqlite")),
                             token_file=None, ca_file=None, on_rejected=lambda entry, code: None)
    uploader.start()
    try:
        wait_until(lambda: len(reads) >= 3, "the queue read again after failing")
        said = [r for r in caplog.records if "photo_upload_queue" in r.getMessage()]
        assert len(said) == 1 and not said[0].exc_info  # a disk error: one line
        assert said[0].getMessage().startswith(
            'event=photo_upload_queue_fault error="disk I/O error"')
        failing[0] = False
        wait_until(lambda: any("event=photo_upload_queue_recovered" in r.getMessage()
                               for r in caplog.records), "the recovery's line")
    finally:
        uploader.stop()
