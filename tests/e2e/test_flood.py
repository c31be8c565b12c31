"""A flood of junk on `cmd/#` costs the homeowner nothing: the daemon says a few rejections and
counts the rest, and a real delivery right after it gets through at once."""

from __future__ import annotations

import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

IN_HOME = "[delivery]\nin_home_enabled = true\nunlock_timeout_s = 60\n"
FLOOD_S = 3.0
# Four times what the daemon could once turn into durable rejections, and below what paho can
# read here (~20,000/s): faster than that, mosquitto itself drops messages for the device
# ("Outgoing messages are being dropped"), a real pass among them, which no device can undo.
FLOOD_PER_S = 10_000


def flood(host: str, port: int, topic: str, seconds: float, per_s: float) -> int:
    """QoS 0 junk of 100 bytes at ``per_s``; returns how many were sent."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect(host, port)
    client.loop_start()
    sent, start = 0, time.monotonic()
    try:
        while (elapsed := time.monotonic() - start) < seconds:
            while sent < elapsed * per_s:
                client.publish(topic, b"j" * 100, qos=0)
                sent += 1
            time.sleep(0.001)  # pacing the flood, not synchronising with anything
    finally:
        client.disconnect()
        client.loop_stop()
    return sent


def test_a_delivery_right_after_a_junk_flood_is_not_buried(new_device, mosquitto) -> None:
    device = new_device(IN_HOME)
    sent = flood(
        mosquitto.host,
        mosquitto.port,
        f"doorstep/{device.device_id}/cmd/junk",
        FLOOD_S,
        FLOOD_PER_S,
    )
    assert sent > 20_000, "the flood was too weak to mean anything"

    device.send("arriving", device.mint("arriving", mode="in_home", jti="g-after-flood"))
    device.cloud.wait_event("delivery.arriving", timeout=20)
    device.send("at_door", device.mint("at_door", jti="a-after-flood"))
    device.cloud.wait_event("delivery.unlocked", timeout=20)
    device.send("cancel", device.mint("cancel"))
    device.cloud.wait_event("delivery.completed", timeout=20)

    junk = [e for e in device.events("command.rejected") if e["cmd"] == "junk"]
    assert 1 <= len(junk) <= 5, f"{len(junk)} rejection events for one flood"
    assert "core_input_failed" not in device.daemon.log_text()
    assert device.daemon.running()
