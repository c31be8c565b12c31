"""The broker link, and the only module that imports paho.

paho callbacks run on paho's network thread: each one is wrapped so an exception is logged
instead of silently killing that thread, and each only hands data on (never blocks, never decides).
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any, Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config import Config, mqtt_password
from edge.transport.topics import Topics

log = logging.getLogger(__name__)

QOS = 1
MAX_INBOUND_PACKET = 1024 * 1024  # commands are small; the broker must not send us more


def _guarded(callback: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            callback(*args, **kwargs)
        except Exception:
            log.exception("event=mqtt_callback_failed callback=%s", callback.__name__)
    return wrapper


def _authenticate(client: mqtt.Client, config: Config) -> None:
    """Credentials and TLS. The broker's certificate must chain to ca_file and match the host:
    paho checks the hostname by default, and nothing here turns that off."""
    if config.mqtt.username is not None:
        client.username_pw_set(config.mqtt.username, mqtt_password(config))
    tls = config.mqtt.tls
    if tls is not None:
        client.tls_set(ca_certs=str(tls.ca_file),
                       certfile=str(tls.cert_file) if tls.cert_file else None,
                       keyfile=str(tls.key_file) if tls.key_file else None)


class MqttLink:
    """Keeps a session to the broker: reconnects with backoff, re-subscribes, re-announces
    `online` and the retained state after every (re)connection."""

    def __init__(self, config: Config, topics: Topics, *, subscribe_sim: bool,
                 on_message: Callable[[str, bytes], None],
                 on_ack: Callable[[int, bool], None],
                 on_online: Callable[[bool], None] = lambda online: None) -> None:
        self._config = config
        self._topics = topics
        self._subscribe_sim = subscribe_sim
        self._on_message = on_message
        self._on_ack = on_ack
        self._on_online = on_online
        self._state: bytes | None = None
        self._state_lock = threading.Lock()
        self._online = threading.Event()
        self._v5 = config.mqtt.protocol == "5"
        persistent = config.mqtt.session_expiry_s > 0
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"doorstep-{config.device_id}",  # fixed: the broker keeps our session
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
            clean_session=None if self._v5 else not persistent,
        )
        _authenticate(client, config)
        client.will_set(topics.availability, "offline", qos=QOS, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = _guarded(self._connected)
        client.on_disconnect = _guarded(self._disconnected)
        client.on_subscribe = _guarded(self._subscribed)
        client.on_message = _guarded(self._message)
        client.on_publish = _guarded(self._published)
        self._client = client

    @property
    def online(self) -> bool:
        return self._online.is_set()

    def start(self) -> None:
        """Connect in the background; a broker that is down now is retried until it is up."""
        mqtt_config = self._config.mqtt
        if self._v5:
            properties = Properties(PacketTypes.CONNECT)
            properties.MaximumPacketSize = MAX_INBOUND_PACKET
            if mqtt_config.session_expiry_s > 0:
                properties.SessionExpiryInterval = mqtt_config.session_expiry_s
            self._client.connect_async(
                mqtt_config.host, mqtt_config.port, keepalive=mqtt_config.keepalive_s,
                clean_start=mqtt_config.session_expiry_s == 0, properties=properties)
        else:
            self._client.connect_async(mqtt_config.host, mqtt_config.port,
                                       keepalive=mqtt_config.keepalive_s)
        self._client.loop_start()

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
        self._online.clear()
        self._client.disconnect()
        self._client.loop_stop()

    # --- paho callbacks (network thread) --------------------------------------------------

    def _connected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                   properties: Any) -> None:
        if reason.is_failure:
            log.error("event=mqtt_connect_refused host=%s reason=%s", self._config.mqtt.host, reason)
            return
        log.info("event=mqtt_connected host=%s port=%s", self._config.mqtt.host,
                 self._config.mqtt.port)
        topics = [(self._topics.commands, QOS)]
        if self._subscribe_sim:
            topics.append((self._topics.simulator, QOS))
        client.subscribe(topics)

    def _subscribed(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any,
                    properties: Any) -> None:
        if reasons[0].is_failure:  # cmd/#: without it we cannot act, so we are not online
            log.error("event=mqtt_subscribe_refused topic=%s reason=%s", self._topics.commands,
                      reasons[0])
            return
        for reason in reasons[1:]:
            if reason.is_failure:
                log.warning("event=mqtt_subscribe_refused topic=%s reason=%s",
                            self._topics.simulator, reason)
        with self._state_lock:
            client.publish(self._topics.availability, b"online", qos=QOS, retain=True)
            if self._state is not None:
                client.publish(self._topics.state, self._state, qos=QOS, retain=True)
            self._online.set()
        log.info("event=online")
        self._on_online(True)

    def _disconnected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                      properties: Any) -> None:
        self._online.clear()
        log.warning("event=mqtt_disconnected reason=%s", reason)
        self._on_online(False)

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._on_message(message.topic, bytes(message.payload))

    def _published(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any,
                   properties: Any) -> None:
        ok = not reason.is_failure
        if not ok:
            log.error("event=publish_refused mid=%s reason=%s", mid, reason)
        self._on_ack(mid, ok)


def probe_broker(config: Config, timeout: float = 5.0) -> str | None:
    """Connect once with the daemon's settings (TLS, credentials) under a client id of its
    own, so a running daemon keeps its session. None when it works, else why not."""
    outcome: list[str | None] = []
    done = threading.Event()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                         client_id=f"doorstep-doctor-{config.device_id}",
                         protocol=mqtt.MQTTv5 if config.mqtt.protocol == "5" else mqtt.MQTTv311)
    _authenticate(client, config)

    def connected(client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                  properties: Any) -> None:
        outcome.append(f"refused: {reason}" if reason.is_failure else None)
        done.set()

    client.on_connect = connected
    try:
        client.connect(config.mqtt.host, config.mqtt.port, keepalive=10)
        client.loop_start()
        if not done.wait(timeout):
            return f"no answer within {timeout:.0f} s"
        return outcome[0]
    except (OSError, ValueError) as exc:  # refused, unreachable, TLS (ssl.SSLError is OSError)
        return str(exc) or type(exc).__name__
    finally:
        client.disconnect()
        client.loop_stop()
