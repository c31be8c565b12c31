"""The memory floor of doorstep's libraries, for `make bench`: one process that imports what
the daemon is built on (paho, cryptography's Ed25519, Pillow with the sim camera, sqlite3,
gpiozero on mock pins, pydantic with one model), takes as many photos as the bench has the
daemon take, and prints its resident memory in bytes. None of doorstep's own logic is in it."""

from __future__ import annotations

import io
import sqlite3
import sys

import gpiozero
import paho.mqtt.client  # noqa: F401  (imported for its footprint, as the daemon imports it)
import pydantic
from gpiozero.pins.mock import MockFactory

from edge.crypto.verify import load_public_key  # noqa: F401  (cryptography's Ed25519)
from edge.hardware.sim_camera import SimCamera


class Model(pydantic.BaseModel):
    value: int = 1


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) * 1024


def main() -> int:
    photos = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    Model()
    sqlite3.connect(":memory:").execute("CREATE TABLE t (x)")
    gpiozero.Device.pin_factory = MockFactory()
    devices = [gpiozero.OutputDevice(17), gpiozero.Button(27)]
    camera = SimCamera(640, 480, "floor")
    for _ in range(photos):
        camera.capture().image.save(io.BytesIO(), format="JPEG", quality=85)
    print(rss_bytes())
    for device in devices:
        device.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
