"""The fleet's cloud: one MQTT connection that issues signed passes and plays the couriers of
in-home deliveries (arriving, at_door, the door opened and closed), and keeps the score: each
delivery's outcome and unlock latency, and every event (by seq, per device) and photo (by
sha256) that a device announced, so what never arrived is counted as lost."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.contract.schemas import Contract
from simulator.cloud import mint

log = logging.getLogger(__name__)

TRIP_TIMEOUT_S = 30.0


@dataclass
class Trip:
    device_id: str
    delivery_id: str
    started: float  # monotonic
    at_door_sent: float | None = None


@dataclass
class Score:
    completed: int = 0
    failed: int = 0  # refused, or an outcome other than delivered
    timed_out: int = 0
    unlock_ms: list[float] = field(default_factory=list)
    events: int = 0
    photos: int = 0
    breaches: int = 0  # events that break the contract (when checked)
    failures: list[str] = field(default_factory=list)  # the first few, for the summary


class Couriers:
    def __init__(
        self,
        key: Ed25519PrivateKey,
        prefix: str,
        protocol: MQTTProtocolVersion,
        check_contract: bool = False,
    ) -> None:
        self._key = key
        self._contract = Contract() if check_contract else None  # jsonschema: the sim extra
        self._prefix = prefix
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"fleet-cloud-{time.monotonic_ns()}",
            protocol=protocol,
        )
        self.client.on_connect = self._connected
        self.client.on_message = self._message
        self.client.on_subscribe = self._subscribed
        self.connected = False
        self.sent = 0
        self.online: set[str] = set()
        self.idle: deque[str] = deque()
        self.trips: dict[str, Trip] = {}  # delivery_id -> trip
        self.score = Score()
        self._numbers = 0
        self._seqs: dict[str, set[int]] = {}  # device -> seqs seen
        self._announced: dict[tuple[str, str], str] = {}  # (device, photo_id) -> sha256
        self._received: dict[tuple[str, str], str] = {}

    # --- starting deliveries -----------------------------------------------------------------

    def start_delivery(self, now: float) -> bool:
        """Send the next idle device a courier; False when none is idle."""
        if not self.idle:
            return False
        device_id = self.idle.popleft()
        self._numbers += 1
        delivery_id = f"F-{self._numbers}"
        self.trips[delivery_id] = Trip(device_id, delivery_id, now)
        self._send(device_id, "arriving", delivery_id, mode="in_home")
        return True

    def expire(self, now: float) -> None:
        for trip in [t for t in self.trips.values() if now - t.started > TRIP_TIMEOUT_S]:
            self.score.timed_out += 1  # the device stays busy: it may be stuck
            self.trips.pop(trip.delivery_id)
            self._note(
                f"{trip.delivery_id} on {trip.device_id}: no outcome after {TRIP_TIMEOUT_S:.0f} s"
            )

    # --- what comes back ---------------------------------------------------------------------

    def _connected(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        p = self._prefix
        client.subscribe([(f"{p}/+/availability", 1), (f"{p}/+/events", 1), (f"{p}/+/photos/#", 1)])

    def _subscribed(self, *_: Any) -> None:
        """Only now may devices come: a clustered broker keeps retained messages on the node
        that took them, so a device's `online` must find this subscription in place."""
        self.connected = True

    def _message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self.receive(msg.topic, bytes(msg.payload))
        except Exception:  # never let one message stop the loop
            log.exception("event=fleet_cloud_failed topic=%s", msg.topic)

    def receive(self, topic: str, payload: bytes) -> None:
        """One message from a device: `availability`, `events` or `photos/{id}/{photo_id}`."""
        _, device_id, kind, *rest = topic.split("/")
        if kind == "availability":
            self._availability(device_id, payload == b"online")
        elif kind == "events":
            event = json.loads(payload)
            if self._contract is not None:
                for error in self._contract.errors("event", event):
                    self.score.breaches += 1
                    self._note(
                        f"{device_id}: event seq {event.get('seq')} breaks the contract: {error}"
                    )
            self._event(device_id, event)
        elif kind == "photos" and len(rest) == 2:
            self._photo(device_id, rest[1], payload)

    def _availability(self, device_id: str, online: bool) -> None:
        if online and device_id not in self.online:
            self.online.add(device_id)
            if device_id not in {t.device_id for t in self.trips.values()}:
                self.idle.append(device_id)
        elif not online:
            self.online.discard(device_id)

    def _event(self, device_id: str, event: dict[str, Any]) -> None:
        self.score.events += 1
        self._seqs.setdefault(device_id, set()).add(event["seq"])
        kind, trip = event["type"], self.trips.get(event.get("delivery_id") or "")
        if kind == "delivery.photo":
            self._announced[(device_id, event["photo_id"])] = event["sha256"]
        if trip is None:
            return
        if kind == "delivery.arriving":
            trip.at_door_sent = time.monotonic()
            self._send(device_id, "at_door", trip.delivery_id)
        elif kind == "delivery.unlocked" and trip.at_door_sent is not None:
            self.score.unlock_ms.append((time.monotonic() - trip.at_door_sent) * 1000)
            self._publish(f"{self._prefix}/{device_id}/sim/door", b"open")
        elif kind == "delivery.door_opened":
            self._publish(f"{self._prefix}/{device_id}/sim/door", b"close")
        elif kind == "delivery.completed":
            del self.trips[trip.delivery_id]
            if event["outcome"] == "delivered":
                self.score.completed += 1
                self.idle.append(device_id)
            else:
                self._fail(trip, f"{trip.delivery_id} on {device_id}: {event['outcome']}")
        elif kind == "command.rejected":
            self._fail(
                trip, f"{trip.delivery_id} on {device_id}: {event['cmd']} refused {event['reason']}"
            )

    def _photo(self, device_id: str, photo_id: str, jpeg: bytes) -> None:
        self.score.photos += 1
        self._received[(device_id, photo_id)] = hashlib.sha256(jpeg).hexdigest()

    def _fail(self, trip: Trip, why: str) -> None:
        self.trips.pop(trip.delivery_id, None)
        self.score.failed += 1
        self._note(why)
        self.idle.append(trip.device_id)

    def _note(self, why: str) -> None:
        if len(self.score.failures) < 10:
            self.score.failures.append(why)

    def _send(self, device_id: str, cmd: str, delivery_id: str, **claims: Any) -> None:
        token = mint(self._key, cmd, device_id=device_id, delivery_id=delivery_id, **claims)
        self._publish(f"{self._prefix}/{device_id}/cmd/{cmd}", token.encode())

    def _publish(self, topic: str, payload: bytes) -> None:
        self.sent += 1
        self.client.publish(topic, payload, qos=1)

    # --- the count ---------------------------------------------------------------------------

    def lost(self) -> tuple[int, int]:
        """(events, photos) announced and never received: gaps in each device's seq from 1,
        and announced photos that never came or came with other bytes."""
        events = sum(max(seqs) - len(seqs) for seqs in self._seqs.values())
        photos = sum(self._received.get(key) != sha for key, sha in self._announced.items())
        return events, photos

    def settled(self) -> bool:
        return not self.trips and all(key in self._received for key in self._announced)
