"""The broker link, and the only module that imports paho.

paho callbacks run on paho's network thread: each one is wrapped so an exception is logged
instead of silently killing that thread, and each only hands data on (never blocks, never decides).
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.config import Config, MqttConfig, mqtt_password
from edge.contract.topics import Topics
from edge.journal.throttle import Throttle
from edge.transport.link_health import (
    SUMMARY_EVERY_S,
    Backoff,
    Failure,
    OutageLog,
    failure_of,
    failure_of_closed,
    failure_of_refusal,
)

log = logging.getLogger(__name__)

QOS = 1
MAX_INBOUND_PACKET = 64 * 1024  # commands are small; the broker must not send us more
CONNECT_TIMEOUT_S = 10.0  # from TCP connected to subscribed; then the attempt counts as failed
LOOP_WAIT_S = 1.0


def _guarded(callback: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            callback(*args, **kwargs)
        except Exception:
            log.exception("event=mqtt_callback_failed callback=%s", callback.__name__)

    return wrapper


class PacketTooLarge(OSError):
    """The broker began a packet larger than MAX_INBOUND_PACKET."""


class BoundedClient(mqtt.Client):
    """paho's client, refusing any inbound packet over MAX_INBOUND_PACKET before reading its
    body, whatever the protocol version. MQTT 5 lets the broker know our limit (CONNECT's
    Maximum Packet Size) and it drops what is larger; MQTT 3.1.1 has no such word, and paho
    would read a 100 MB owner/lock into memory. Here the connection is dropped instead (and
    reconnected); owner commands are QoS 0, so the broker does not send that one again.

    paho reads a packet's length, then its body through ``_sock_recv``: the one place to stop."""

    def _sock_recv(self, bufsize: int) -> bytes:
        # paho's own state, read with care: a paho that keeps it otherwise must not lose us
        # the link (tests/e2e/test_owner_replay.py says when the bound stops holding).
        packet = getattr(self, "_in_packet", None) or {}
        if packet.get("have_remaining") and packet.get("remaining_length", 0) > MAX_INBOUND_PACKET:
            log.warning(
                'event=inbound_too_large bytes=%s limit=%s detail="dropped unread, with '
                'the connection, which is made again" fix="only the cloud and the '
                'homeowner may write to this device; check who sent it"',
                packet["remaining_length"],
                MAX_INBOUND_PACKET,
            )
            raise PacketTooLarge(
                f"the broker sent a {packet['remaining_length']}-byte packet; "
                f"at most {MAX_INBOUND_PACKET} are read"
            )
        return super()._sock_recv(bufsize)


def _authenticate(client: mqtt.Client, settings: MqttConfig) -> None:
    """Credentials and TLS. The broker's certificate must chain to ca_file and match the host:
    paho checks the hostname by default, and nothing here turns that off."""
    if settings.username is not None:
        client.username_pw_set(settings.username, mqtt_password(settings))
    tls = settings.tls
    if tls is not None:
        client.tls_set(
            ca_certs=str(tls.ca_file),
            certfile=str(tls.cert_file) if tls.cert_file else None,
            keyfile=str(tls.key_file) if tls.key_file else None,
        )


@dataclass(frozen=True)
class Announcement:
    """A retained message published again at every (re)connection, and again whenever the
    ``rebirth_topic`` says `online` (Home Assistant's discovery, on its status topic)."""

    topic: str
    payload: bytes
    rebirth_topic: str | None = None


@dataclass(frozen=True)
class LinkHooks:
    """What the link tells the daemon: a message (topic, payload, live), a broker's answer to
    a publish (mid, ok), and the link's health in words for systemd's STATUS."""

    on_message: Callable[[str, bytes, bool], None]
    on_ack: Callable[[int, bool], None]
    on_status: Callable[[str], None] = lambda status: None


@dataclass(frozen=True)
class Retry:
    backoff: Backoff | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    clock: Callable[[], float] = time.monotonic


class MqttLink:
    """Keeps a session to the broker: retries with a capped, jittered backoff, says why each
    attempt failed (see link_health), re-subscribes, and re-announces `online` and the retained
    state after every (re)connection.

    It runs paho's network loop on a thread of its own rather than loop_start(): paho's loop
    swallows the reason a connection failed and doubles its retry delay to 30 s; here every
    attempt is ours, so its cause is logged and a broker that is back is used within 5 s.
    """

    def __init__(
        self,
        settings: MqttConfig,
        topics: Topics,
        *,
        client_id: str,
        hooks: LinkHooks,
        subscriptions: Sequence[str] = (),
        announcements: Sequence[Announcement] = (),
        retry: Retry = Retry(),
    ) -> None:
        """Besides its own cmd/# and owner/#, the link subscribes ``subscriptions`` (the
        simulated world's sim/#) and each announcement's rebirth topic."""
        self._settings = settings
        self._topics = topics
        self._subscriptions = tuple(subscriptions)
        self._announcements = tuple(announcements)
        self._on_message = hooks.on_message
        self._on_ack = hooks.on_ack
        self._on_status = hooks.on_status
        self._backoff = retry.backoff or Backoff()
        self._connect_timeout = retry.connect_timeout_s
        self._clock = retry.clock
        self._outage = OutageLog(f"{settings.host}:{settings.port}")
        self._refusals = Throttle(SUMMARY_EVERY_S)  # publishes the broker refused (an ACL)
        self._state: bytes | None = None
        self._state_lock = threading.Lock()
        self._online = threading.Event()
        self._stop = threading.Event()
        self._refusal: Failure | None = None  # why the broker turned this attempt down
        self._paho_error: str | None = None  # the last error paho logged (a TLS alert, a reset)
        self._ended: str | None = None  # the reason a session ended, from on_disconnect
        self._v5 = settings.protocol == "5"
        persistent = settings.session_expiry_s > 0
        client = BoundedClient(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,  # fixed: the broker keeps our session
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
            clean_session=None if self._v5 else not persistent,
        )
        _authenticate(client, settings)
        client.will_set(topics.availability, "offline", qos=QOS, retain=True)
        client.on_connect = _guarded(self._connected)
        client.on_disconnect = _guarded(self._disconnected)
        client.on_subscribe = _guarded(self._subscribed)
        client.on_message = _guarded(self._message)
        client.on_publish = _guarded(self._published)
        client.on_log = _guarded(self._paho_log)
        client.on_socket_open = _guarded(_no_delay)
        # Our thread runs the loop: publishes from other threads only wake it (never write
        # to the socket themselves), as with paho's own loop thread.
        client.on_socket_register_write = lambda *args: None
        self._client = client
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)

    @property
    def online(self) -> bool:
        return self._online.is_set()

    def start(self) -> None:
        """Connect in the background; a broker that is down now is retried until it is up."""
        mqtt_config = self._settings
        # connect_async only stores the parameters; every attempt is made by _run.
        if self._v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.MaximumPacketSize = MAX_INBOUND_PACKET
            if mqtt_config.session_expiry_s > 0:
                properties.SessionExpiryInterval = mqtt_config.session_expiry_s
            self._client.connect_async(
                mqtt_config.host,
                mqtt_config.port,
                keepalive=mqtt_config.keepalive_s,
                clean_start=mqtt_config.session_expiry_s == 0,
                properties=properties,
            )
        else:
            self._client.connect_async(
                mqtt_config.host, mqtt_config.port, keepalive=mqtt_config.keepalive_s
            )
        self._thread.start()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int:
        """Queue a QoS 1 message and return its mid. While disconnected paho keeps it queued
        in memory and sends it after reconnecting; the on_ack callback reports its PUBACK."""
        info = self._client.publish(topic, payload, qos=QOS, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise OSError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")
        return info.mid

    def set_state(self, payload: bytes) -> None:
        """Remember the current retained state and publish it when online. Under the same lock
        as the re-announcement after a reconnect, so an older state never lands last."""
        with self._state_lock:
            self._state = payload
            if self.online:
                self._client.publish(self._topics.state, payload, qos=QOS, retain=True)

    def stop(self, timeout: float = 2.0) -> None:
        """Say `offline` (the will does not fire on a clean disconnect), then disconnect."""
        if self.online:
            info = self._client.publish(self._topics.availability, b"offline", qos=QOS, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.warning("event=offline_not_acknowledged error=%s", exc)
        self._stop.set()
        self._online.clear()
        self._client.disconnect()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread.is_alive()

    # --- the connection loop (our thread) -------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                failure = self._session()
            except Exception:  # a bug here must not end the link: log it and try again
                log.exception("event=mqtt_loop_failed")
                failure = Failure("network", "the connection failed unexpectedly", "see the log")
            if self._stop.is_set():
                return
            if failure is not None:
                report = self._outage.failed(failure, self._clock())
                if report is not None:
                    log.warning(report.message)
                self._on_status(self._outage.status)
            self._stop.wait(self._backoff.next_delay())

    def _session(self) -> Failure | None:
        """One connection attempt and, when it succeeds, the session until it ends. Returns
        why the attempt failed, or None after a session that was up."""
        self._refusal = self._paho_error = self._ended = None
        mqtt_config = self._settings
        try:
            self._client.reconnect()
        except (OSError, ValueError) as exc:  # refused, DNS, timeout, TLS (ssl errors are OSError)
            return failure_of(exc, mqtt_config.host, mqtt_config.port)
        deadline = self._clock() + self._connect_timeout
        was_online = False
        grace = 3  # loops left after stop(), to send the DISCONNECT it queued
        while self._client.loop(timeout=LOOP_WAIT_S) == MQTTErrorCode.MQTT_ERR_SUCCESS:
            if self._stop.is_set():
                grace -= 1
                if grace <= 0:
                    break
                continue
            was_online = was_online or self.online
            if not was_online and self._refusal is None and self._clock() > deadline:
                self._refusal = Failure(
                    "timeout",
                    f"{mqtt_config.host}:{mqtt_config.port} took the connection but "
                    f"gave no MQTT answer within {self._connect_timeout:g} s",
                    "check that mqtt.port is the broker's MQTT port (TLS or not, as configured)",
                )
                self._client.disconnect()
        if was_online or self.online:
            self._online.clear()
            if not self._stop.is_set():
                log.warning(
                    'event=mqtt_disconnected reason="%s"',
                    self._ended or self._paho_error or "connection lost",
                )
                self._outage.disconnected(self._clock())
                self._on_status(
                    f"locked; lost broker {mqtt_config.host}:{mqtt_config.port}, reconnecting"
                )
            return None
        return self._refusal or failure_of_closed(self._paho_error)

    # --- paho callbacks (our loop thread) -------------------------------------------------

    def _connected(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._refusal = failure_of_refusal(reason, self._settings.username is not None)
            return
        topics: list[tuple[str, Any]] = [
            (self._topics.commands, QOS),
            (self._topics.owner, self._live_only()),
        ]
        topics += [(topic, QOS) for topic in self._subscriptions]
        topics += [(a.rebirth_topic, QOS) for a in self._announcements if a.rebirth_topic]
        client.subscribe(topics)

    def _live_only(self) -> Any:
        """How owner commands are subscribed: only while we listen. At QoS 0 the broker keeps
        none for us while we are offline (an UNLOCK sent then must not open the door at the
        next start); over MQTT 5 it also sends no retained one and none of our own."""
        if not self._v5:
            return 0
        return SubscribeOptions(
            qos=0, noLocal=True, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND
        )

    def _subscribed(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        if reasons[0].is_failure:  # cmd/#: without it we cannot act, so we are not online
            self._refusal = Failure(
                "not_authorised",
                f"the broker refused the subscription to {self._topics.commands}: {reasons[0]}",
                "the broker's ACL must let this device read its cmd/# topics (see "
                "firmware_config/mosquitto/doorstep.acl)",
            )
            client.disconnect()  # and try again later: an ACL can be fixed without restarting us
            return
        for reason in reasons[1:]:
            if reason.is_failure:
                log.warning(
                    'event=mqtt_subscribe_refused topic=%s reason=%s fix="the '
                    "broker's ACL must let this device read it\"",
                    "owner/#, sim/# or a status topic",
                    reason,
                )
        with self._state_lock:
            client.publish(self._topics.availability, b"online", qos=QOS, retain=True)
            if self._state is not None:
                client.publish(self._topics.state, self._state, qos=QOS, retain=True)
            self._online.set()
        for announcement in self._announcements:
            self._announce(announcement)
        self._backoff.reset()
        report = self._outage.connected(self._clock())
        log.info(report.message)
        log.info("event=online")
        self._on_status(self._outage.status)

    def _disconnected(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._ended = str(reason)

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        reborn = [a for a in self._announcements if a.rebirth_topic == message.topic]
        if reborn:
            if message.payload == b"online":  # Home Assistant (re)started: tell it again
                for announcement in reborn:
                    self._announce(announcement)
            return
        # Live: sent while we listen, not kept by the broker (retained) nor queued in our
        # session before this connection's subscriptions were in place.
        live = self.online and not message.retain
        if message.retain and message.topic.startswith(self._topics.owner_base):
            self._clear_retained(message.topic)
        self._on_message(message.topic, bytes(message.payload), live)

    def _clear_retained(self, topic: str) -> None:
        """An owner command the broker keeps (retained) would be sent to us at every start and
        every reconnect: ask the broker to forget it (an empty retained payload). Where the ACL
        does not let the device write it, the broker refuses and the core still rejects it."""
        log.warning(
            'event=owner_command_retained topic=%s fix="owner commands must not be '
            'published retained; it is ignored and cleared"',
            topic,
        )
        self._client.publish(topic, b"", qos=QOS, retain=True)

    def _announce(self, announcement: Announcement) -> None:
        self._client.publish(announcement.topic, announcement.payload, qos=QOS, retain=True)

    def _published(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any
    ) -> None:
        ok = not reason.is_failure
        if not ok and self._refusals.due(self._clock()):
            log.error(
                'event=publish_refused reason="%s" refused=%s fix="the broker\'s ACL '
                "must let this device write its own topics (see "
                'firmware_config/mosquitto/doorstep.acl); kept on disk until then"',
                reason,
                self._refusals.take(),
            )
        self._on_ack(mid, ok)

    def _paho_log(self, client: mqtt.Client, userdata: Any, level: int, text: str) -> None:
        if _telling(level, text):
            self._paho_error = text


def _telling(level: int, text: str) -> bool:
    """A paho error that says why a connection ended (not its later "not connected")."""
    return level == mqtt.MQTT_LOG_ERR and not text.startswith("Client is not connected")


def _no_delay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """Small messages go out at once: with Nagle's algorithm on, an event published right after
    a command arrived waits ~40 ms for the broker's delayed ACK."""
    if hasattr(sock, "setsockopt"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def probe_broker(config: Config, timeout: float = 5.0) -> Failure | None:
    """Connect once with the daemon's settings (TLS, credentials) under a client id of its
    own, so a running daemon keeps its session. None when it works, else why not, in the
    same words the daemon logs."""
    outcome: list[Failure | None] = []
    errors: list[str] = []
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"doorstep-doctor-{config.device_id}",
        protocol=mqtt.MQTTv5 if config.mqtt.protocol == "5" else mqtt.MQTTv311,
    )
    _authenticate(client, config.mqtt)
    login = config.mqtt.username is not None
    client.on_connect = lambda client, userdata, flags, reason, properties: outcome.append(
        failure_of_refusal(reason, login) if reason.is_failure else None
    )
    client.on_log = lambda client, userdata, level, text: (
        errors.append(text) if _telling(level, text) else None
    )
    host, port = config.mqtt.host, config.mqtt.port
    try:
        client.connect(host, port, keepalive=10)
    except (OSError, ValueError) as exc:  # refused, unreachable, TLS (ssl.SSLError is OSError)
        return failure_of(exc, host, port)
    deadline = time.monotonic() + timeout
    try:
        while not outcome and time.monotonic() < deadline:
            if client.loop(timeout=0.2) != MQTTErrorCode.MQTT_ERR_SUCCESS and not outcome:
                return failure_of_closed(errors[-1] if errors else None)
        if not outcome:
            return Failure(
                "timeout",
                f"no MQTT answer from {host}:{port} within {timeout:.0f} s",
                "check that mqtt.port is the broker's MQTT port",
            )
        return outcome[0]
    finally:
        client.disconnect()
