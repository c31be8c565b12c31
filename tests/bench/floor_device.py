"""The physical floor for `make bench`: the least a device must do for each measured path,
with the same libraries on the same machine, in a process of its own.

Topics are under `--root` (`floor` by default):
- `floor/cmd/pass`: verify the pass's Ed25519 signature, fsync one small write, answer on
  `floor/events` (QoS 1): what an unlock must cost at the very least.
- `floor/cmd/photo`: render and JPEG-encode a frame of the daemon's size with the same
  renderer, fsync it to a file, publish its bytes on `floor/photos` (QoS 1).
- `floor/cmd/steps` (payload: how many): that many durable steps, each a 1 KiB record appended
  to a log and fsynced (about what one step of an in-home run must keep: its events, its notes,
  the delivery's row), then `floor/steps` (QoS 1): what the disk figure must cost at the least.
- `floor/cmd/press`: what the protocol asks of a doorbell press at the least (for a figure
  beside the one above, without a goal): the photo as above, a small event record fsynced on its
  own (events are on disk before they are published), then three publishes: the photo
  (`floor/photos`), the same bytes retained (`floor/latest`, as `image/latest`) and the event
  (`floor/pressed`). With `--mqtt5` it speaks MQTT 5, as the bench's daemon does.

Its socket has TCP_NODELAY, as the daemon's has; it says `ready` on `floor/ready` once subscribed.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import socket
import sys
from pathlib import Path
from typing import cast

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from paho.mqtt.enums import CallbackAPIVersion

from edge.crypto.verify import load_public_key
from edge.hardware.sim_camera import SimCamera

STEP_RECORD = b"s" * 1023 + b"\n"


def durable(path: Path, data: bytes, mode: str = "wb") -> None:
    with open(path, mode) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def verify(token: bytes, key: Ed25519PublicKey) -> None:
    head, body, signature = token.split(b".")
    key.verify(
        base64.urlsafe_b64decode(signature + b"=" * (-len(signature) % 4)), head + b"." + body
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--root", default="floor")
    parser.add_argument("--mqtt5", action="store_true")
    args = parser.parse_args()
    root = args.root
    key = load_public_key(args.key)
    width, height = map(int, args.size.split("x"))
    camera = SimCamera(width, height, "floor")
    args.folder.mkdir(parents=True, exist_ok=True)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=root,
        protocol=mqtt.MQTTv5 if args.mqtt5 else mqtt.MQTTv311,
    )
    event = 0
    client.on_socket_open = lambda c, u, sock: cast(socket.socket, sock).setsockopt(
        socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
    )

    def photo() -> bytes:
        buffer = io.BytesIO()
        camera.capture().image.save(buffer, format="JPEG", quality=85)
        jpeg = buffer.getvalue()
        durable(args.folder / "photo.jpg", jpeg)
        return jpeg

    def message(c: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal event
        if msg.topic == f"{root}/cmd/pass":
            verify(bytes(msg.payload), key)
            durable(args.folder / "jti", bytes(msg.payload[-64:]))
            c.publish(f"{root}/events", b"ok", qos=1)
        elif msg.topic == f"{root}/cmd/photo":
            c.publish(f"{root}/photos", photo(), qos=1)
        elif msg.topic == f"{root}/cmd/steps":
            for _ in range(int(msg.payload)):
                durable(args.folder / "steps.log", STEP_RECORD, mode="ab")
            c.publish(f"{root}/steps", b"done", qos=1)
        elif msg.topic == f"{root}/cmd/press":
            jpeg = photo()
            event += 1
            record = b'{"type": "doorbell.pressed", "seq": %d}' % event
            durable(args.folder / "event.json", record)
            c.publish(f"{root}/photos", jpeg, qos=1)
            c.publish(f"{root}/latest", jpeg, qos=1, retain=True)
            c.publish(f"{root}/pressed", record, qos=1)
        elif msg.topic == f"{root}/cmd/stop":
            c.disconnect()

    client.on_message = message
    client.on_connect = lambda c, *a: c.subscribe(f"{root}/cmd/#", qos=1)
    client.on_subscribe = lambda c, *a: c.publish(f"{root}/ready", b"ready", qos=1)
    client.connect("127.0.0.1", args.port)
    client.loop_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
