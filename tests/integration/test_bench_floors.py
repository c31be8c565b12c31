"""The floors `make bench` sets each figure beside (tests/bench/): each does the work it claims,
so a floor that stopped working cannot pass for a fast one. CI does not run the bench."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from simulator.cloud import mint
from tests.bench.bench_daemon import PRESS_FLOOR, Client, topic_is

FLOOR = Path(__file__).parents[1] / "bench" / "floor_device.py"


def test_the_floor_process_does_each_path(mosquitto, cloud_keys, tmp_path: Path) -> None:
    client = Client(mosquitto.port)
    folder = tmp_path / "floor"
    floor = subprocess.Popen(
        [
            sys.executable,
            str(FLOOR),
            "--port",
            str(mosquitto.port),
            "--key",
            str(cloud_keys.public),
            "--folder",
            str(folder),
            "--root",
            PRESS_FLOOR,
            "--mqtt5",
        ]
    )
    try:
        client.wait(topic_is(f"{PRESS_FLOOR}/ready"), 0)
        mark = len(client.got)
        client.send(
            f"{PRESS_FLOOR}/cmd/pass",
            mint(cloud_keys.private, "at_door", device_id="porch-1", delivery_id="D-1"),
        )
        client.wait(topic_is(f"{PRESS_FLOOR}/events"), mark)

        mark = len(client.got)
        client.send(f"{PRESS_FLOOR}/cmd/press", "press")
        for topic in ("photos", "latest", "pressed"):
            client.wait(topic_is(f"{PRESS_FLOOR}/{topic}"), mark)
        photos = [p for _, t, p in client.got[mark:] if t.endswith(("/photos", "/latest"))]
        assert len(photos) == 2 and photos[0] == photos[1] and photos[0][:2] == b"\xff\xd8"
        assert (folder / "photo.jpg").read_bytes() == photos[0]  # on disk before it was sent

        mark = len(client.got)
        client.send(f"{PRESS_FLOOR}/cmd/steps", "5")
        client.wait(topic_is(f"{PRESS_FLOOR}/steps"), mark)
        assert (folder / "steps.log").stat().st_size == 5 * 1024
    finally:
        client.send(f"{PRESS_FLOOR}/cmd/stop", "")
        assert floor.wait(timeout=10) == 0
        client.close()


def test_the_libraries_floor_reports_its_memory() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.library_floor", "2"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    ).stdout
    assert int(out) > 20 * 2**20  # paho, cryptography, Pillow, gpiozero and pydantic are in it
