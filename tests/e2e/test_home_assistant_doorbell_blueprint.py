"""The doorbell blueprint (firmware_config/homeassistant/) run by a real Home Assistant
(`pytest -m slow`): doorstep found by MQTT discovery, its live view added as a Generic Camera,
a phone registered through mobile_app's own registration API, and the automation made from the
blueprint. A press on the simulated doorbell brings the notification with the snapshot (whose
Lock action locks the door), then the notification again with a clip that Home Assistant
recorded from the live view and serves under /media/local, and that clip plays. The phone's
push relay (Apple's or Google's, which a real phone's notifications go through) is a local HTTP
receiver here: it is the end of the line, not a part under test."""

from __future__ import annotations

import io
import json
import queue
import secrets
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import pytest

from edge.crypto.owner_code import hash_code
from simulator.broker import free_port
from tests.e2e.test_home_assistant import CODE, HomeAssistant, running_home_assistant
from tests.e2e.test_home_assistant_live_view import add_live_camera, stream_ready
from tests.e2e.test_live_view import live_config

pytestmark = pytest.mark.slow
BLUEPRINT = (
    Path(__file__).parents[2] / "firmware_config" / "homeassistant" / "doorstep_doorbell.yaml"
)
CLIP_SECONDS = 5


@contextmanager
def push_relay() -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    """A push relay's URL, and the notifications Home Assistant hands it."""
    pushed: queue.Queue[dict[str, Any]] = queue.Queue()

    class Relay(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            pushed.put(json.loads(self.rfile.read(length)))
            body = b"{}"
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/push", pushed
    finally:
        server.shutdown()
        server.server_close()


def mqtt_entity(ha: HomeAssistant, domain: str) -> str | None:
    """doorstep's entity of ``domain``, once discovered."""
    every = ha.call("/template", {"template": "{{ integration_entities('mqtt') | list | tojson }}"})
    return next((e for e in every if e.startswith(domain + ".")), None)


def register_phone(ha: HomeAssistant, relay: str) -> str:
    """A companion app, registered as the app does it; its device id."""
    ha.call(
        "/mobile_app/registrations",
        {
            "app_id": "io.doorstep.test",
            "app_name": "doorstep test phone",
            "app_version": "1.0",
            "device_name": "doorstep test phone",
            "manufacturer": "test",
            "model": "test",
            "os_name": "Android",
            "os_version": "14",
            "supports_encryption": False,
            "device_id": secrets.token_hex(8),
            "app_data": {"push_token": secrets.token_hex(8), "push_url": relay},
        },
    )
    return ha.until(
        lambda: ha.call("/template", {"template": "{{ device_id('doorstep test phone') }}"}),
        "the phone's device",
    )


def fetched(ha: HomeAssistant, path: str) -> bytes:
    root = ha.base.removesuffix("/api")
    request = urllib.request.Request(root + path, headers={"Authorization": f"Bearer {ha.token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.read()


def test_a_ring_notifies_with_the_snapshot_then_with_a_clip(
    tmp_path: Path, new_device, mosquitto
) -> None:
    stream_ready()
    port, password = free_port(), secrets.token_urlsafe(12)
    device = new_device(
        '[homeassistant]\nenabled = true\nname = "Front door"\n'
        f'[owner]\nunlock_code_hash = "{hash_code(CODE)}"\n' + live_config(tmp_path, port, password)
    )
    device.wait_log("event=live_view_listening")
    folder, media = tmp_path / "ha", tmp_path / "media"
    (folder / "blueprints" / "automation" / "doorstep").mkdir(parents=True)
    (folder / "blueprints" / "automation" / "doorstep" / BLUEPRINT.name).write_text(
        BLUEPRINT.read_text(encoding="utf-8"), encoding="utf-8"
    )
    (folder / "automations.yaml").write_text("[]\n", encoding="utf-8")
    media.mkdir()
    extra = (
        "mobile_app:\nmedia_source:\nautomation: !include automations.yaml\n"
        f"homeassistant:\n  media_dirs:\n    local: {media}\n"
    )
    with (
        push_relay() as (relay, pushed),
        running_home_assistant(tmp_path, mosquitto.port, extra) as ha,
    ):
        doorbell = ha.until(lambda: mqtt_entity(ha, "event"), "the doorbell")
        snapshot = ha.until(lambda: mqtt_entity(ha, "image"), "the snapshot")
        door_lock = ha.until(lambda: mqtt_entity(ha, "lock"), "the lock")
        camera = add_live_camera(ha, f"rtsp://owner:{password}@127.0.0.1:{port}/doorstep")
        phone = register_phone(ha, relay)
        automation = {
            "id": "doorstep_doorbell",
            "alias": "doorstep doorbell",
            "use_blueprint": {
                "path": f"doorstep/{BLUEPRINT.name}",
                "input": {
                    "doorbell": doorbell,
                    "snapshot": snapshot,
                    "door_lock": door_lock,
                    "notify_device": phone,
                    "live_camera": camera,
                    "clip_seconds": CLIP_SECONDS,
                    "media_dir": str(media),
                },
            },
        }
        (folder / "automations.yaml").write_text(json.dumps([automation]), encoding="utf-8")
        ha.call("/services/automation/reload", {})
        ha.until(lambda: ha.state("automation.doorstep_doorbell") == "on", "the automation")
        ha.until(lambda: ha.state(door_lock) == "locked", "the lock's state")
        ha.call("/services/lock/unlock", {"entity_id": door_lock, "code": CODE})  # left open
        device.cloud.wait_event("owner.unlocked", timeout=30)
        device.sim("doorbell", "press")

        first = pushed.get(timeout=60)
        assert first["data"]["image"] == f"/api/image_proxy/{snapshot}", first
        assert "video" not in first["data"]
        view, lock, silence = first["data"]["actions"]
        assert lock["title"] == "Lock the door" and lock["action"].startswith("DOORSTEP_LOCK_")
        assert view["uri"] == f"entityId:{camera}" and silence["action"].startswith("DOORSTEP_")
        ha.call("/events/mobile_app_notification_action", {"action": lock["action"]})  # tapped
        device.cloud.wait_event("owner.relocked", timeout=30)

        second = pushed.get(timeout=CLIP_SECONDS + 60)
        video = second["data"]["video"]
        assert video.startswith("/media/local/doorstep/ring-"), second
        assert second["data"]["tag"] == first["data"]["tag"]  # it replaces the first
        clip = fetched(ha, video)  # as the phone fetches it, through Home Assistant
    with av.open(io.BytesIO(clip), "r") as played:
        frames = list(played.decode(video=0))
    assert (frames[0].width, frames[0].height) == (320, 240)  # doorstep's clip size
    assert len(frames) >= CLIP_SECONDS  # seconds of it, at the stream's rate
