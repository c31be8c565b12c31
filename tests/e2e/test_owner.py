"""The homeowner's controls through the real daemon (docs/protocol.md §8): relock now, the
in-home switch across a restart, snapshots and the latest image, the last delivery, owner
unlock with a code, and Home Assistant discovery."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.crypto.owner_code import hash_code

IN_HOME = """
[delivery]
in_home_enabled = true
unlock_timeout_s = 30
relock_delay_s = 0.2
lock_verify_s = 1
"""


def owner(device, name: str, payload: str | bytes) -> None:
    device.cloud.publish(f"owner/{name}", payload)


def test_relock_now_ends_an_in_home_delivery_cancelled(new_device) -> None:
    device = new_device(IN_HOME)
    device.send("arriving", device.mint("arriving", mode="in_home"))
    device.send("at_door", device.mint("at_door"))
    device.cloud.wait_state(lock="unlocked")
    owner(device, "lock", '{"action": "LOCK", "code": "None"}')  # as Home Assistant sends it
    assert device.cloud.wait_event("delivery.completed")["outcome"] == "cancelled"
    device.cloud.wait_state(lock="locked", delivery=None)
    device.cloud.wait_event("lock.changed", to="locked")  # events come by the outbox
    changes = [(e["to"], e["source"]) for e in device.events("lock.changed")]
    assert changes == [("unlocked", "pass"), ("locked", "owner")]
    last = json.loads(device.cloud.wait_for(lambda got: got.retained.get("last_delivery")))
    assert (last["delivery_id"], last["outcome"], last["mode"]) == ("D-1", "cancelled", "in_home")


def test_the_in_home_switch_is_kept_across_a_restart(new_device) -> None:
    device = new_device(IN_HOME)
    owner(device, "in_home", "OFF")
    device.cloud.wait_state(in_home_enabled=False)
    assert device.cloud.wait_event("owner.in_home")["enabled"] is False
    assert device.daemon.terminate() == 0
    device.start()
    device.cloud.wait_state(in_home_enabled=False)  # the config says true: the owner decided
    device.send("arriving", device.mint("arriving", mode="in_home", jti="g-off"))
    device.rejected("mode_not_allowed", jti="g-off")


def test_a_snapshot_on_demand_becomes_the_latest_image_and_is_rate_limited(new_device) -> None:
    device = new_device()
    owner(device, "snapshot", "PRESS")
    owner(device, "snapshot", "PRESS")
    device.rejected("rate_limited", cmd="owner/snapshot")
    photo_id, data = device.cloud.wait_for(lambda got: next(iter(got.photos.items()), None))
    assert device.cloud.received.photo_topics[photo_id].endswith(f"/snapshots/{photo_id}")
    device.cloud.wait_for(
        lambda got: got.retained.get("image/latest") == data, what="the snapshot as image/latest"
    )
    assert device.events("doorbell.pressed") == []


def test_owner_payloads_that_are_not_the_documented_forms_are_malformed(new_device) -> None:
    device = new_device()
    owner(device, "lock", "lock please")
    device.rejected("malformed", cmd="owner/lock")
    owner(device, "lock", '{"action": "UNLOCK", "code": "123456"}')
    device.rejected("owner_unlock_disabled", cmd="owner/lock")


def test_owner_unlock_with_the_right_code(new_device) -> None:
    code_line = f'[owner]\nunlock_code_hash = "{hash_code("246810")}"\n'
    device = new_device(IN_HOME + code_line)
    owner(device, "lock", '{"action": "UNLOCK", "code": "135791"}')
    device.rejected("bad_code", cmd="owner/lock")
    owner(device, "lock", '{"action": "UNLOCK", "code": "246810"}')
    device.cloud.wait_event("owner.unlocked")
    device.cloud.wait_state(lock="unlocked", delivery=None)
    device.sim("door", "open")
    device.sim("door", "close")
    device.cloud.wait_event("owner.relocked")
    device.cloud.wait_event("lock.changed", to="locked")
    assert [e["source"] for e in device.events("lock.changed")] == ["owner", "relock"]
    assert "246810" not in device.daemon.log_text() and "135791" not in device.daemon.log_text()
    assert not [e for e in device.events() if e["type"].startswith("delivery.")]


def test_home_assistant_finds_the_device_and_hears_it_again_after_a_restart(
    new_device, mosquitto
) -> None:
    device = new_device('[homeassistant]\nenabled = true\nname = "Front door"\n')
    topic = f"homeassistant/device/doorstep_{device.device_id}/config"
    seen: list[bytes] = []
    arrived = threading.Condition()

    def message(client, userdata, msg) -> None:
        with arrived:
            seen.append(bytes(msg.payload))
            arrived.notify_all()

    ha = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    ha.on_message = message
    ha.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
    ha.connect(mosquitto.host, mosquitto.port)
    ha.loop_start()
    try:
        with arrived:
            assert arrived.wait_for(lambda: seen, timeout=10)  # the retained copy
        config = json.loads(seen[0])
        assert config["dev"]["name"] == "Front door" and len(config["cmps"]) == 9
        ha.publish("homeassistant/status", b"online", qos=1).wait_for_publish(10)
        with arrived:
            assert arrived.wait_for(lambda: len(seen) >= 2, timeout=10)
        assert json.loads(seen[1]) == config
    finally:
        ha.disconnect()
        ha.loop_stop()
