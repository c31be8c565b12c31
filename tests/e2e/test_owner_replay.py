"""An owner command acts only when it is live (issue 21): a copy the broker kept for the device,
retained or queued in its session while it was stopped, never moves the lock, at a start or at
a reconnect. Owner commands carry no signature and no time, so nothing else could tell."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.crypto.device_key import load, mqtt_client_id
from edge.crypto.owner_code import hash_code

CODE = "246810"
UNLOCK = f'{{"action": "UNLOCK", "code": "{CODE}"}}'
OWNER_UNLOCK = f"""
[delivery]
in_home_enabled = true
unlock_timeout_s = 30
[owner]
unlock_code_hash = "{hash_code(CODE)}"
"""


def retained_on(broker, topic: str) -> bytes | None:
    """What the broker keeps retained on ``topic`` (None: nothing), asked by a fresh client."""
    got: list[bytes] = []
    done = threading.Event()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)

    def heard(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        got.append(bytes(msg.payload))
        done.set()

    client.on_message = heard
    client.on_subscribe = lambda *a: threading.Timer(1.0, done.set).start()  # retained come first
    client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert done.wait(10), "no answer from the broker"
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0] if got else None


def heard_live(device) -> None:
    """A live owner command is still heard (so the stale one was not merely missed)."""
    device.cloud.publish("owner/lock", '{"action": "UNLOCK", "code": "000000"}')
    device.rejected("bad_code", cmd="owner/lock")


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_a_retained_owner_unlock_is_rejected_stale_and_cleared(
    new_device, mosquitto, protocol: str
) -> None:
    device = new_device(OWNER_UNLOCK, start=False, protocol=protocol)
    device.cloud.publish("owner/lock", UNLOCK, retain=True)
    device.start()
    if protocol == "3.1.1":  # MQTT 5 asks the broker not to send it at all
        device.rejected("stale", cmd="owner/lock")
        device.cloud.wait_for(
            lambda got: retained_on(mosquitto, f"{device.cloud.base}/owner/lock") is None,
            what="the retained owner command cleared",
        )
    heard_live(device)
    device.daemon.terminate()
    device.start()  # and again at the next start
    heard_live(device)
    assert device.events("owner.unlocked") == []
    assert [e["to"] for e in device.events("lock.changed")] == []
    assert device.cloud.wait_state()["lock"] == "locked"


def test_a_retained_in_home_on_does_not_undo_the_homeowners_off(new_device) -> None:
    device = new_device(OWNER_UNLOCK, protocol="3.1.1")
    device.cloud.publish("owner/in_home", "ON", retain=True)  # live when sent: it acts once
    device.cloud.wait_event("owner.in_home", enabled=True)
    device.cloud.publish("owner/in_home", "OFF")
    device.cloud.wait_state(in_home_enabled=False)
    device.daemon.terminate()
    device.start()
    device.rejected("stale", cmd="owner/in_home")
    assert device.cloud.wait_state()["in_home_enabled"] is False


def test_an_owner_unlock_queued_while_the_daemon_was_stopped_never_acts(new_device) -> None:
    # MQTT 5 with a persistent session: the broker keeps the device's QoS 1 messages while it
    # is away, and used to hand this UNLOCK over at the next start.
    device = new_device(OWNER_UNLOCK)
    device.daemon.terminate()
    device.cloud.publish("owner/lock", UNLOCK)
    device.start()
    heard_live(device)
    assert device.events("owner.unlocked") == []
    assert device.cloud.wait_state()["lock"] == "locked"


def connect_as(broker, client_id: str, device) -> bool:
    """Connect with ``client_id`` and a persistent session, subscribe owner/# at QoS 1 (as an
    older doorstep did), leave; whether the broker already had a session of that id."""
    subscribed = threading.Event()
    present: list[bool] = []
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
    )

    def connected(c, userdata, flags, reason, properties) -> None:
        present.append(flags.session_present)
        c.subscribe(f"{device.cloud.base}/owner/#", qos=1)

    client.on_connect = connected
    client.on_subscribe = lambda *a: subscribed.set()
    session = Properties(PacketTypes.CONNECT)
    session.SessionExpiryInterval = 3600
    client.connect(broker.host, broker.port, clean_start=False, properties=session)
    client.loop_start()
    try:
        assert subscribed.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()
    return present[0]


def test_no_other_client_can_take_the_devices_session(new_device, mosquitto) -> None:
    # Its client id used to be doorstep-{device_id}: anyone could knock it off and take the
    # messages the broker kept for it.
    device = new_device(OWNER_UNLOCK)
    assert connect_as(mosquitto, f"doorstep-{device.device_id}", device) is False
    heard_live(device)
    assert device.cloud.received.availability[-1] == "online"


def test_an_owner_unlock_queued_before_this_connection_subscribed_is_stale(
    new_device, mosquitto
) -> None:
    # A session whose owner/# subscription is still QoS 1 (left by an older doorstep): what it
    # queued arrives before this connection's subscriptions are in place, and is stale.
    device = new_device(OWNER_UNLOCK)
    device.daemon.terminate()
    key = load(device.folder / "data" / "device_key.pem")
    assert connect_as(mosquitto, mqtt_client_id(device.device_id, key), device) is True
    device.cloud.publish("owner/lock", UNLOCK)
    device.start()
    device.rejected("stale", cmd="owner/lock")
    heard_live(device)
    assert device.events("owner.unlocked") == []


def test_an_oversized_owner_command_is_never_read_into_memory_under_mqtt_3(new_device) -> None:
    # MQTT 3.1.1 cannot tell the broker a size limit: paho read a 100 MB owner/lock whole.
    device = new_device(OWNER_UNLOCK, protocol="3.1.1")
    device.cloud.publish("owner/lock", b"{" + b" " * 1_000_000 + b"}")
    line = device.wait_log("event=inbound_too_large")
    assert "limit=65536" in line and "bytes=100" in line, line  # the payload and its topic
    device.cloud.wait_for(
        lambda got: got.availability[-2:] == ["offline", "online"],
        what="the device back online after dropping the connection",
    )
    heard_live(device)  # connected again, and owner commands still work
