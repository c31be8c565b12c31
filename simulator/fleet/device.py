"""One doorbell of the fleet: the daemon's own Core (domain machine, pass intake with the
replay store, ledger with receipts signed by its own key, outbox pump) in a data dir of its own,
stepped by the shared network loop instead of a thread. Its lock, door and camera are small
models (no GPIO at all, so no pin factory is shared between devices): the lock reads what it
was driven to, `sim/door` moves the door, and the camera answers every proof with a new frame
and every capture with this device's own small JPEG."""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import queue
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from PIL import Image, ImageDraw

from edge.contract.events import rfc3339
from edge.contract.topics import Topics
from edge.crypto.device_key import load_or_create, public_pem
from edge.domain.camera import FrameStamp
from edge.domain.machine import next_wake
from edge.domain.model import (
    Capture,
    DoorMoved,
    FrameProof,
    Input,
    LockReading,
    Outward,
    PhotoTaken,
    ProveCamera,
    Rules,
    Tick,
)
from edge.domain.passes import PassPolicy, Signer
from edge.loop.executor import Ports
from edge.loop.inbox import Inbound
from edge.loop.intake import PassIntake
from edge.store.receipts import Receipts
from edge.wiring import now, open_stores
from edge.workers.capture import new_photo_id
from edge.workers.pump import OutboxPump
from edge.workers.routes import PhotoRoutes

log = logging.getLogger(__name__)

RULES = Rules(
    in_home_enabled=True,
    unlock_timeout_s=30,
    door_open_alarm_s=120,
    relock_delay_s=0.2,
    lock_verify_s=1,
    open_photo_interval_s=5,
)


class FleetLock:
    def __init__(self) -> None:
        self.reading = LockReading.LOCKED

    def drive(self, locked: bool) -> None:
        self.reading = LockReading.LOCKED if locked else LockReading.UNLOCKED

    def sensed(self) -> LockReading:
        return self.reading


class FleetDevice:
    def __init__(
        self,
        device_id: str,
        folder: Path,
        cloud_key: Ed25519PublicKey,
        *,
        prefix: str,
        protocol: MQTTProtocolVersion,
    ) -> None:
        self.device_id = device_id
        self.topics = Topics(prefix, device_id)
        self.sent = 0  # messages published, for the fleet's count of broker traffic
        self.on_stepped: Callable[[FleetDevice], None] = lambda device: None  # timers
        self._frames = itertools.count(1)
        self._last_frame = FrameStamp(0, time.monotonic_ns())  # running since the start
        self._jpeg = _picture(device_id)
        stores = open_stores(folder)
        self._photos = stores.photos
        key = load_or_create(folder)
        ledger = stores.ledger(
            self.topics, PhotoRoutes(self.topics, self._photos, None), Receipts(key, device_id)
        )
        intake = PassIntake(
            [(cloud_key, Signer())], PassPolicy(device_id), stores.replay, lambda: True
        )
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=device_id, protocol=protocol
        )
        self.client.will_set(self.topics.availability, "offline", qos=1, retain=True)
        self.client.on_connect = self._connected
        self.client.on_message = self._message
        self.client.on_subscribe = self._subscribed
        self.client.on_publish = self._acknowledged
        self._pump = OutboxPump(stores.outbox, self)
        self._lock = FleetLock()
        self.core = stores.core(
            Ports(
                intake=intake,
                ledger=ledger,
                lock=self._lock,
                effects=self,
                publish_state=self._publish_state,
            ),
            RULES,
        )
        self._key_pem = public_pem(key).encode("ascii")

    # --- the network -------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int:
        """The outbox pump's publisher: QoS 1, acknowledged by mid."""
        self.sent += 1
        return int(self.client.publish(topic, payload, qos=1, retain=retain).mid)

    def _acknowledged(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any
    ) -> None:
        self._pump.acknowledged(mid, not reason.is_failure)

    def _connected(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning("event=fleet_device_refused device_id=%s reason=%s", self.device_id, reason)
            return
        client.subscribe([(self.topics.commands, 1), (self.topics.simulator, 1)])

    def _subscribed(self, client: mqtt.Client, *_: Any) -> None:
        """Online only once the passes can reach it: the cloud starts a delivery at once."""
        client.publish(self.topics.device_key, self._key_pem, qos=1, retain=True)
        client.publish(self.topics.availability, b"online", qos=1, retain=True)

    def _message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        parsed = self.topics.parse_inbound(msg.topic)
        try:
            if parsed is not None and parsed[0] == "cmd":
                self.give(Inbound("cmd", parsed[1], bytes(msg.payload)))
            elif parsed == ("sim", "door") and msg.payload in (b"open", b"close"):
                self.give(DoorMoved(msg.payload == b"open"))
        except Exception:  # an exception in a paho callback would stop the whole loop
            log.exception("event=fleet_device_failed device_id=%s", self.device_id)

    def _publish_state(self, body: bytes) -> None:
        self.sent += 1
        self.client.publish(self.topics.state, body, qos=0, retain=True)

    # --- stepping the core -------------------------------------------------------------------

    def start(self) -> None:
        """What `doorstep run` does first: the lock driven locked, then the machine resumed."""
        self._lock.drive(True)
        self.core.resume()
        self._settle()

    def give(self, item: Input | Inbound) -> None:
        self.core.take(item)
        self._settle()
        self.on_stepped(self)

    def tick(self) -> None:
        self.give(Tick())

    def due(self, mono: float) -> float | None:
        """When this device next needs a Tick (monotonic seconds), or None."""
        wait = next_wake(self.core.state, now())
        return None if wait is None else mono + wait

    def _settle(self) -> None:
        """Step what the step itself queued (the lock's reading, photos, proofs), then send."""
        while True:
            try:
                item = self.core.inbox.get(timeout=0)
            except queue.Empty:
                break
            self.core.take(item)
        self._pump.pump_now()

    # --- the Effects port: the camera --------------------------------------------------------

    def carry_out(self, action: Outward) -> None:
        if isinstance(action, ProveCamera):
            frame = FrameStamp(next(self._frames), time.monotonic_ns())
            self.core.inbox.put(FrameProof(action.proof_id, frame, self._last_frame))
            self._last_frame = frame
        elif isinstance(action, Capture):
            moment = datetime.now(UTC)
            photo_id = new_photo_id(moment)
            self._photos.save(photo_id, action.request.delivery_id, self._jpeg)
            frame = FrameStamp(next(self._frames), time.monotonic_ns())
            self._last_frame = frame
            self.core.inbox.put(
                PhotoTaken(
                    action.request,
                    photo_id,
                    hashlib.sha256(self._jpeg).hexdigest(),
                    len(self._jpeg),
                    rfc3339(moment),
                    frame,
                )
            )
        # Indicate, Sound: no LED or buzzer on a fleet device; Watch: its camera never stops;
        # CheckCode: no owner code


def _picture(device_id: str) -> bytes:
    image = Image.new("RGB", (96, 64), (200, 170, 130))
    ImageDraw.Draw(image).text((4, 26), device_id, fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()
