"""A real Home Assistant (from PyPI, headless) shows doorstep's live view: the RTSP stream is
added as a Generic Camera through Home Assistant's own config flow (which opens the stream to
check it), and a frame is read back through Home Assistant's camera API, decoded from the
stream (`pytest -m slow`; Home Assistant's stream needs PyAV, PyTurboJPEG and numpy in its
venv, installed here, and libturbojpeg0 from apt)."""

from __future__ import annotations

import ctypes.util
import io
import secrets
import subprocess
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from simulator.broker import free_port
from tests.e2e.test_home_assistant import (
    HomeAssistant,
    home_assistant_python,
    running_home_assistant,
)
from tests.e2e.test_live_view import live_config

pytestmark = pytest.mark.slow
STREAM_REQUIREMENTS = ["av==13.1.0", "PyTurboJPEG==1.7.5", "numpy==2.2.2"]  # HA 2025.4's


def stream_ready() -> None:
    """Home Assistant's stream (PyAV and friends in its venv), and a live view to serve."""
    pytest.importorskip("gi", reason="the live view needs PyGObject (make test installs it)")
    if ctypes.util.find_library("turbojpeg") is None:
        pytest.skip("Home Assistant's stream stills need libturbojpeg0 (apt)")
    python = home_assistant_python()
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *STREAM_REQUIREMENTS], check=True
    )


def add_live_camera(ha: HomeAssistant, stream: str) -> str:
    """The stream added as a Generic Camera through Home Assistant's config flow (which opens
    the stream to check it, and says so with its confirm step); its entity id."""
    flow = ha.call("/config/config_entries/flow", {"handler": "generic"})
    step = ha.call(
        f"/config/config_entries/flow/{flow['flow_id']}",
        {"stream_source": stream, "rtsp_transport": "tcp", "framerate": 2, "verify_ssl": False},
    )
    assert step.get("step_id") == "user_confirm", step  # it opened the stream
    done = ha.call(f"/config/config_entries/flow/{flow['flow_id']}", {"confirmed_ok": True})
    assert done.get("type") == "create_entry", done
    return ha.until(
        lambda: [
            s["entity_id"] for s in ha.call("/states") if s["entity_id"].startswith("camera.")
        ],
        "the generic camera",
    )[0]


def test_home_assistant_shows_the_live_view(tmp_path: Path, new_device, mosquitto) -> None:
    stream_ready()
    port, password = free_port(), secrets.token_urlsafe(12)
    device = new_device(live_config(tmp_path, port, password))
    device.wait_log("event=live_view_listening")
    with running_home_assistant(tmp_path, mosquitto.port) as ha:
        camera = add_live_camera(ha, f"rtsp://owner:{password}@127.0.0.1:{port}/doorstep")
        jpeg = ha.until(lambda: still(ha, camera), "a frame from the stream", timeout=60)
        picture = Image.open(io.BytesIO(jpeg))
        assert picture.size == (320, 240)  # the simulated device's clip size


def still(ha: HomeAssistant, camera: str) -> bytes | None:
    """The camera's picture through Home Assistant's API, once it has one."""
    request = urllib.request.Request(
        f"{ha.base}/camera_proxy/{camera}", headers={"Authorization": f"Bearer {ha.token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            data = answer.read()
    except urllib.error.HTTPError:
        return None  # 500 until the stream has a keyframe
    return data if data[:2] == b"\xff\xd8" else None
