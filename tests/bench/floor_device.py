"""The physical floor for `make bench`: the least a device must do for each measured path,
with the same libraries on the same machine, in a process of its own.

- `floor/cmd/pass`: verify the pass's Ed25519 signature, fsync one small write, answer on
  `floor/events` (QoS 1): what an unlock must cost at the very least.
- `floor/cmd/photo`: render and JPEG-encode a frame of the daemon's size with the same
  renderer, fsync it to a file, publish its bytes on `floor/photos` (QoS 1).

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

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from paho.mqtt.enums import CallbackAPIVersion

from edge.crypto.verify import load_public_key
from edge.hardware.sim_camera import SimCamera


def durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def verify(token: bytes, key: Ed25519PublicKey) -> None:
    head, body, signature = token.split(b".")
    key.verify(base64.urlsafe_b64decode(signature + b"=" * (-len(signature) % 4)),
               head + b"." + body)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--size", default="640x480")
    args = parser.parse_args()
    key = load_public_key(args.key)
    width, height = map(int, args.size.split("x"))
    camera = SimCamera(width, height, "floor")
    args.folder.mkdir(parents=True, exist_ok=True)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="floor")
    client.on_socket_open = lambda c, u, sock: sock.setsockopt(
        socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def message(c: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == "floor/cmd/pass":
            verify(msg.payload, key)
            durable(args.folder / "jti", msg.payload[-64:])
            c.publish("floor/events", b"ok", qos=1)
        elif msg.topic == "floor/cmd/photo":
            buffer = io.BytesIO()
            camera.capture().image.save(buffer, format="JPEG", quality=85)
            jpeg = buffer.getvalue()
            durable(args.folder / "photo.jpg", jpeg)
            c.publish("floor/photos", jpeg, qos=1)
        elif msg.topic == "floor/cmd/stop":
            c.disconnect()

    client.on_message = message
    client.on_connect = lambda c, *a: c.subscribe("floor/cmd/#", qos=1)
    client.on_subscribe = lambda c, *a: c.publish("floor/ready", b"ready", qos=1)
    client.connect("127.0.0.1", args.port)
    client.loop_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
