"""The photo uploader keeps going: its thread outlives a queue it cannot read (a failing card),
said once with its fix, then recovered; and a photo the server always fails on is set aside
while the ones behind it go."""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from edge.store.db import Database
from edge.store.outbox import Outbox
from edge.workers import http_upload
from edge.workers.http_upload import PhotoUploader
from tests.certs import https_server
from tests.failing_card import UnreadableOutbox
from tests.waiting import wait_until


def test_an_upload_queue_that_cannot_be_read_is_said_and_tried_again(
    tmp_path: Path, caplog, monkeypatch
) -> None:
    monkeypatch.setattr(http_upload, "RETRY_UNREADABLE_S", 0.05)
    caplog.set_level(logging.INFO, logger="edge.workers.http_upload")
    outbox = UnreadableOutbox(Database(tmp_path / "doorstep.sqlite"))
    uploader = PhotoUploader(
        outbox, token_file=None, ca_file=None, on_rejected=lambda entry, code: None
    )
    uploader.start()
    try:
        wait_until(lambda: len(outbox.reads) >= 3, "the queue read again after failing")
        said = [r for r in caplog.records if "photo_upload_queue" in r.getMessage()]
        assert len(said) == 1 and not said[0].exc_info  # a disk error: one line
        assert (
            said[0].getMessage().startswith('event=photo_upload_queue_fault error="disk I/O error"')
        )
        outbox.failing = False
        wait_until(
            lambda: any(
                "event=photo_upload_queue_recovered" in r.getMessage() for r in caplog.records
            ),
            "the recovery's line",
        )
    finally:
        uploader.stop()


class ChokingServer:
    """An HTTPS upload server that answers 500 for every photo of D-stuck, 201 for the rest."""

    def __init__(self, folder: Path) -> None:
        self.stored: list[str] = []
        self.stuck_tries = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                stuck = "D-stuck" in self.path
                if stuck:
                    server.stuck_tries += 1
                else:
                    server.stored.append(self.path)
                self.send_response(500 if stuck else 201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd, self.ca_file = https_server(folder, Handler)

    def url(self, path: str) -> str:
        return f"https://localhost:{self.httpd.server_address[1]}/{path}"


def test_a_photo_the_server_always_fails_on_does_not_hold_back_the_others(tmp_path: Path) -> None:
    server = ChokingServer(tmp_path)
    outbox = Outbox(Database(tmp_path / "doorstep.sqlite"))
    for name in ("D-stuck/p0", "D-1/p1", "D-1/p2"):
        photo = tmp_path / f"{name.replace('/', '-')}.jpg"
        photo.write_bytes(b"\xff\xd8" + name.encode())
        outbox.add_file(server.url(f"{name}.jpg"), photo, channel="http")
    uploader = PhotoUploader(
        outbox,
        token_file=None,
        ca_file=server.ca_file,
        on_rejected=lambda entry, code: None,
        backoff_max_s=0.2,
    )
    uploader.start()
    try:
        wait_until(lambda: len(server.stored) == 2, "the photos behind the stuck one")
        assert server.stored == ["/D-1/p1.jpg", "/D-1/p2.jpg"]
        tries = server.stuck_tries
        wait_until(lambda: server.stuck_tries > tries, "the stuck photo, tried again later")
        assert outbox.backlog(0).count == 1  # kept until the server takes it
    finally:
        uploader.stop()
        server.httpd.shutdown()
