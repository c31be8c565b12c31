"""The live view through the real daemon, read by a real RTSP client (PyAV's FFmpeg): a login
is always asked (none, or a wrong one, is refused 401 before any frame), and with it the
stream shows the doorstep as it is now: the door opening shows within a second."""

from __future__ import annotations

import secrets
import socket
import time
from pathlib import Path

import pytest

from simulator.broker import free_port

av = pytest.importorskip("av")
pytest.importorskip("gi", reason="the live view needs PyGObject (make test installs it)")

OPTIONS = {"rtsp_transport": "tcp", "fflags": "nobuffer"}


def live_config(tmp_path: Path, port: int, password: str) -> str:
    secret = tmp_path / "live-password"
    secret.write_text(password + "\n", encoding="utf-8")
    return (
        f'\n[live]\nenabled = true\nbind = "127.0.0.1"\nport = {port}\n'
        f'username = "owner"\npassword_file = "{secret}"\n'
    )


def door_is_open(frame) -> bool:
    """The sim's door, in the middle of the picture, is the dark hallway once it opens."""
    image = frame.to_image()
    return sum(image.getpixel((image.width // 2, int(image.height * 0.6)))) < 150


def test_the_live_view_asks_a_login_and_shows_the_doorstep_as_it_is_now(
    new_device, tmp_path: Path
) -> None:
    port, password = free_port(), secrets.token_urlsafe(12)
    device = new_device(live_config(tmp_path, port, password))
    device.wait_log("event=live_view_listening")
    url = f"127.0.0.1:{port}/doorstep"
    for refused in (f"rtsp://{url}", f"rtsp://owner:not-{password}@{url}"):
        with pytest.raises(av.error.HTTPUnauthorizedError):
            av.open(refused, options=OPTIONS, timeout=10)

    with av.open(f"rtsp://owner:{password}@{url}", "r", options=OPTIONS, timeout=10) as stream:
        frames = stream.decode(video=0)
        first = next(frames)
        assert (first.width, first.height) == (320, 240) and not door_is_open(first)
        device.sim("door", "open")
        opened = time.monotonic()
        deadline = opened + 10
        for frame in frames:
            if door_is_open(frame):
                break
            assert time.monotonic() < deadline, "the live view never showed the open door"
        lag = time.monotonic() - opened
    assert lag < 1.0, f"the live view showed the door {lag:.2f} s after it opened"
    device.wait_log("event=live_view_left")


def test_a_taken_port_is_said_and_the_door_goes_on_without_a_live_view(
    new_device, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        device = new_device(live_config(tmp_path, port, secrets.token_urlsafe(12)))
        line = device.wait_log("event=live_view_not_listening")
        assert f"address=127.0.0.1:{port}" in line and 'fix="free that port' in line
        device.sim("doorbell", "press")  # the rest of the device works on
        assert device.cloud.wait_event("doorbell.pressed")["photo_id"]
        assert device.daemon.running()
