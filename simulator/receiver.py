"""The cloud's receiving end: subscribes to one device's topics, keeps what arrives, and lets a
caller wait for a condition with a deadline (the demo, the scenarios and the end-to-end tests all
use it). Every message is checked against the contract (docs/contract/) as it arrives; what
breaks it is kept in ``violations``, and ``close`` raises on them."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.contract.schemas import Contract, ContractError

JPEG_START = b"\xff\xd8"
DEVICE_OUTPUTS = (
    "availability",
    "state",
    "events",
    "photos/#",
    "snapshots/#",
    "clips/#",
    "last_delivery",
    "image/latest",
    "device_key",
    "receipts/#",
)


@dataclass
class Received:
    events: list[dict[str, Any]] = field(default_factory=list)
    photos: dict[str, bytes] = field(default_factory=dict)  # photo_id -> JPEG bytes
    photo_topics: dict[str, str] = field(default_factory=dict)  # photo_id -> topic
    availability: list[str] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)
    arrival: dict[str, float] = field(default_factory=dict)  # event id -> monotonic time
    retained: dict[str, bytes] = field(default_factory=dict)  # last_delivery, image/latest
    receipts: dict[str, str] = field(default_factory=dict)  # delivery id -> compact JWS
    receipt_order: list[str] = field(default_factory=list)  # as they arrived
    clip_chunks: dict[str, dict[int, bytes]] = field(default_factory=dict)  # clip_id -> n -> bytes

    def add(self, topic: str, rest: str, payload: bytes, chunk: tuple[str, int] | None) -> Any:
        """Keep a message that came on ``topic`` (`{base}/{rest}`); an event is returned."""
        kind, _, tail = rest.partition("/")
        if kind == "events":
            event = json.loads(payload)
            self.events.append(event)
            self.arrival.setdefault(event["id"], time.monotonic())
            return event
        if chunk is not None:
            self.clip_chunks.setdefault(chunk[0], {})[chunk[1]] = payload
        elif kind in ("photos", "snapshots"):
            photo_id = tail.rsplit("/", 1)[-1]
            self.photos[photo_id] = payload
            self.photo_topics[photo_id] = topic
        elif kind == "availability":
            self.availability.append(payload.decode())
        elif kind == "state" and payload:
            self.states.append(json.loads(payload))
        elif kind in ("last_delivery", "image", "device_key"):
            self.retained[rest] = payload
        elif kind == "receipts":
            if tail not in self.receipts:
                self.receipt_order.append(tail)
            self.receipts[tail] = payload.decode("ascii")
        return None

    def clip(self, clip_id: str) -> bytes | None:
        """A clip's MP4 bytes once every chunk up to its announced size is in, else None."""
        told = next((e for e in self.events if e.get("clip_id") == clip_id), None)
        chunks = self.clip_chunks.get(clip_id, {})
        data = b"".join(chunks[n] for n in range(len(chunks)) if n in chunks)
        return data if told is not None and len(data) == told["bytes"] else None


@dataclass(frozen=True)
class Access:
    """How the cloud connects: ``tls`` is (ca_file, cert_file, key_file) for a mutual-TLS
    broker; ``session`` names a persistent session, so that nothing published while the cloud
    is away is missed."""

    protocol: str = "3.1.1"
    tls: tuple[str, str, str] | None = None
    session: str | None = None


class CloudReceiver:
    def __init__(
        self,
        host: str,
        port: int,
        prefix: str,
        device_id: str,
        *,
        access: Access = Access(),
        on_event: Callable[[dict[str, Any]], None] | None = None,
        check_contract: bool = True,
    ) -> None:
        """``check_contract=False`` is for tests of the transport that send made-up payloads."""
        protocol, tls, session = access.protocol, access.tls, access.session
        self.base = f"{prefix}/{device_id}"
        self.received = Received()
        self.violations: list[str] = []
        self._contract = Contract() if check_contract else None
        self._on_event = on_event
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=session or f"cloud-{device_id}-{time.monotonic_ns()}",
            protocol=mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311,
            clean_session=None if protocol == "5" else session is None,
        )
        if tls is not None:
            self._client.tls_set(ca_certs=tls[0], certfile=tls[1], keyfile=tls[2])
        self._client.on_connect = self._connected
        self._client.on_subscribe = lambda *args: self._subscribed.set()
        self._client.on_message = self._message
        self._client.connect(host, port)
        self._client.loop_start()
        if not self._subscribed.wait(timeout=10):
            raise TimeoutError(f"cloud receiver could not subscribe on {host}:{port}")

    def forget(self) -> None:
        """Drop what was received so far (a long run must not keep every message)."""
        with self._changed:
            self.received = Received()

    def close(self) -> None:
        """Disconnect; raise ContractError if any message broke the contract."""
        self._client.disconnect()
        self._client.loop_stop()
        if self.violations:
            raise ContractError("\n".join(self.violations))

    def publish(
        self, suffix: str, payload: str | bytes, timeout: float = 10, retain: bool = False
    ) -> None:
        """Publish QoS 1 to `{prefix}/{device_id}/{suffix}` and wait for the broker's PUBACK."""
        info = self._client.publish(f"{self.base}/{suffix}", payload, qos=1, retain=retain)
        info.wait_for_publish(timeout)

    def _connected(self, client: mqtt.Client, *_: Any) -> None:
        # What the device publishes, not `#`: a flood on cmd/# is not the cloud's to read.
        client.subscribe([(f"{self.base}/{topic}", 1) for topic in DEVICE_OUTPUTS])

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        rest = message.topic[len(self.base) + 1 :]
        kind, _, tail = rest.partition("/")
        chunk = _clip_chunk(kind, tail)
        if chunk is not None:
            kind = "clips"
        problem = self._breach(kind, bytes(message.payload), message.retain, chunk)
        with self._changed:
            if problem:
                self.violations.append(f"{message.topic}: {problem}")
            event = self.received.add(message.topic, rest, bytes(message.payload), chunk)
            self._changed.notify_all()
        if event is not None and self._on_event is not None:
            self._on_event(event)

    def _breach(
        self, kind: str, payload: bytes, retained: bool, chunk: tuple[str, int] | None = None
    ) -> str | None:
        """What is wrong with this message by the contract, or None."""
        if self._contract is None or not payload and (retained or kind == "image"):
            return None  # unchecked, or a retained message being cleared (an erased photo's)
        try:
            if kind in ("events", "state", "last_delivery"):
                name = {"events": "event", "last_delivery": "last-delivery"}.get(kind, kind)
                self._contract.check(name, json.loads(payload))
            elif kind == "receipts":
                body = payload.decode("ascii").split(".")[1]
                claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
                self._contract.check("receipt", claims)
            elif kind in ("photos", "snapshots", "image") and not payload.startswith(JPEG_START):
                return "not JPEG bytes"
            elif chunk is not None and chunk[1] == 0 and payload[4:8] != b"ftyp":
                return "a clip's first chunk is not the start of an MP4 file"
            elif kind == "availability" and payload not in (b"online", b"offline"):
                return f"availability {payload[:40]!r}"
            elif kind == "device_key" and not payload.startswith(b"-----BEGIN PUBLIC KEY-----"):
                return "device_key is not a PEM public key"
        except (ContractError, ValueError, IndexError) as error:
            return str(error)
        return None

    # --- waiting --------------------------------------------------------------------------

    def wait_for(
        self, predicate: Callable[[Received], Any], timeout: float = 15, what: str = "condition"
    ) -> Any:
        """Return the first truthy ``predicate(received)``; raise TimeoutError at the deadline.

        Re-checked on every message and at least every 50 ms, so a predicate may also look at
        state outside the receiver (an outbox, a process)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = predicate(self.received)
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
                self._changed.wait(min(remaining, 0.05))

    def wait_event(self, type_: str, timeout: float = 15, **fields: Any) -> dict[str, Any]:
        """The first event of ``type_`` whose fields match, already received or yet to come."""

        def find(got: Received) -> dict[str, Any] | None:
            return next(
                (
                    e
                    for e in got.events
                    if e["type"] == type_ and all(e.get(k) == v for k, v in fields.items())
                ),
                None,
            )

        return cast(dict[str, Any], self.wait_for(find, timeout, f"event {type_} {fields}"))

    def wait_availability(self, value: str, timeout: float = 15) -> None:
        self.wait_for(
            lambda got: got.availability and got.availability[-1] == value,
            timeout,
            f"availability {value}",
        )

    def wait_state(self, timeout: float = 15, **fields: Any) -> dict[str, Any]:
        def latest(got: Received) -> dict[str, Any] | None:
            state = got.states[-1] if got.states else None
            if state and all(state.get(k) == v for k, v in fields.items()):
                return state
            return None

        return cast(dict[str, Any], self.wait_for(latest, timeout, f"state {fields}"))


def _clip_chunk(kind: str, tail: str) -> tuple[str, int] | None:
    """(clip_id, n) of `clips/{delivery_id}/{clip_id}/{n}` or `snapshots/clips/{clip_id}/{n}`."""
    parts = tail.split("/")
    clip = kind == "clips" or (kind == "snapshots" and parts[0] == "clips")
    if clip and len(parts) == 3 and parts[2].isdigit():
        return parts[1], int(parts[2])
    return None
