"""Photos by HTTPS PUT (photos.transport = "http") to a real local HTTPS server that fails,
throttles and drops connections: every photo arrives exactly once after deduplication by sha256,
and a photo the server refuses for good is reported and kept on the device."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from edge.workers.http_upload import NETWORK_FIX, TLS_FIX
from tests.certs import Authority, https_server

TOKEN = "upload-token-for-tests"


class UploadServer:
    """Stores PUT bodies by sha256. Each photo's first attempt fails in turn with a 500, a
    dropped connection or a 429; paths naming D-reject are refused with 403."""

    def __init__(self, folder: Path) -> None:
        self.stored: dict[str, bytes] = {}
        self.requests: list[tuple[str, int | None]] = []
        self.changed = threading.Condition()
        faults = iter([500, None, 429] * 1000)  # None: drop the connection without answering
        seen: set[str] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sha = hashlib.sha256(body).hexdigest()
                status: int | None
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    status = 401
                elif (
                    self.headers.get("X-Doorstep-Sha256") != sha
                    or self.headers.get("Content-Type") != "image/jpeg"
                ):
                    status = 400
                elif "D-reject" in self.path:
                    status = 403
                elif sha not in seen:
                    seen.add(sha)
                    status = next(faults)
                else:
                    status = 201
                with server.changed:
                    server.requests.append((self.path, status))
                    if status == 201:
                        server.stored[sha] = body
                    server.changed.notify_all()
                if status is None:
                    self.close_connection = True
                    return
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd, self.ca_file = https_server(folder, Handler)
        self.port = self.httpd.server_address[1]

    def wait_for(self, predicate, timeout: float = 60) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), f"server saw {self.requests}"

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def upload_server(tmp_path: Path):
    server = UploadServer(tmp_path)
    yield server
    server.close()


def http_config(server: UploadServer, folder: Path) -> str:
    token = folder / "upload-token"
    folder.mkdir(parents=True, exist_ok=True)
    token.write_text(TOKEN + "\n")
    return f"""
[photos]
transport = "http"
http_url = "https://localhost:{server.port}/v1/{{device_id}}/{{delivery_id}}/{{photo_id}}.jpg"
http_token_file = "{token}"
http_ca_file = "{server.ca_file}"
"""


def test_every_photo_arrives_once_through_failures(new_device, upload_server, tmp_path) -> None:
    device = new_device(http_config(upload_server, tmp_path / "secrets"))
    device.send("arriving", device.mint("arriving"))
    device.cloud.wait_event("delivery.arriving")
    for _ in range(3):
        device.sim("doorbell", "press")
    device.cloud.wait_for(
        lambda got: len([e for e in got.events if e["type"] == "doorbell.pressed"]) == 3
    )
    device.send("done", device.mint("done"))
    completed = device.cloud.wait_event("delivery.completed")
    photos = {e["photo_id"]: e["sha256"] for e in device.events("delivery.photo")}
    assert set(completed["photos"]) == set(photos) and len(photos) == 4

    upload_server.wait_for(lambda: set(photos.values()) <= set(upload_server.stored))
    assert len(upload_server.stored) == len(photos)  # exactly once, after dedupe by sha256
    for photo_id in photos:
        paths = {p for p, status in upload_server.requests if status == 201 and photo_id in p}
        assert paths == {f"/v1/{device.device_id}/D-1/{photo_id}.jpg"}
    failures = {status for _, status in upload_server.requests if status != 201}
    assert failures == {500, None, 429}  # every fault was met and survived
    assert f'fix="{NETWORK_FIX}"' in device.wait_log("event=photo_upload_network_error")
    assert device.cloud.received.photos == {}  # delivery photos did not go by MQTT


def test_a_refused_photo_is_reported_and_kept(new_device, upload_server, tmp_path) -> None:
    device = new_device(http_config(upload_server, tmp_path / "secrets"))
    device.send("arriving", device.mint("arriving", delivery_id="D-reject"))
    device.send("done", device.mint("done", delivery_id="D-reject"))
    photo = device.cloud.wait_event("delivery.photo", delivery_id="D-reject")
    rejected = device.cloud.wait_event("photo.upload_rejected", delivery_id="D-reject", timeout=30)
    assert (rejected["photo_id"], rejected["status"]) == (photo["photo_id"], 403)
    folder = device.folder / "data" / "photos" / "deliveries" / "D-reject"
    kept = folder / f"{photo['photo_id']}.jpg"
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == photo["sha256"]
    assert 'status=403 fix="the upload server refused it: check photos.http_token_file' in (
        device.wait_log("event=photo_upload_rejected")
    )


def test_an_upload_server_we_cannot_trust_is_logged_with_the_tls_fix(
    new_device, upload_server, tmp_path
) -> None:
    """photos.http_ca_file names another CA: nothing is sent, and the log says what to check."""
    stranger = Authority(tmp_path / "other-pki", "another-ca")
    config = http_config(upload_server, tmp_path / "secrets").replace(
        str(upload_server.ca_file), str(stranger.ca_file)
    )
    device = new_device(config)
    device.send("arriving", device.mint("arriving"))
    device.send("done", device.mint("done"))
    device.cloud.wait_event("delivery.completed")
    line = device.wait_log("event=photo_upload_network_error")
    assert "CERTIFICATE_VERIFY_FAILED" in line and f'fix="{TLS_FIX}"' in line
    assert upload_server.requests == []  # the handshake failed: no photo reached the server


def test_a_token_the_server_does_not_take_is_retried_until_it_is_fixed(
    new_device, upload_server, tmp_path
) -> None:
    """An expired upload token (401): the photos wait on disk, and once the token file holds
    one the server takes (it is read again at every try), they arrive; none is dropped."""
    secrets = tmp_path / "secrets"
    device = new_device(http_config(upload_server, secrets))
    token = secrets / "upload-token"
    token.write_text("an-expired-token\n")
    device.send("arriving", device.mint("arriving", mode="doorstep"))
    device.send("done", device.mint("done"))
    photo = device.cloud.wait_event("delivery.photo", delivery_id="D-1")
    upload_server.wait_for(lambda: any(status == 401 for _, status in upload_server.requests))
    assert 'status=401 fix="check photos.http_token_file' in device.wait_log(
        "event=photo_upload_retry"
    )
    token.write_text(TOKEN + "\n")
    upload_server.wait_for(lambda: photo["sha256"] in upload_server.stored)
    assert not device.events("photo.upload_rejected")
