"""In-home deliveries through the real daemon process (docs/protocol.md §2-§3), with short
timers. What a shipped scenario plays whole (not_entered, jam, door_left_open, ...) runs in
test_scenarios.py; these tests check what a scenario cannot say (orders, counts, photos,
the broker's will, a flood)."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

IN_HOME = """
[delivery]
in_home_enabled = true
unlock_timeout_s = 5
door_open_alarm_s = 1.5
relock_delay_s = 0.3
lock_verify_s = 0.5
photo_interval_s = 0.5
"""


def in_home(new_device):
    device = new_device(IN_HOME)
    device.cloud.wait_state(in_home_enabled=True, lock="locked")
    return device


def unlock(device, delivery_id: str = "D-1") -> str:
    device.send("arriving", device.mint("arriving", delivery_id=delivery_id, mode="in_home"))
    device.cloud.wait_event("delivery.arriving", delivery_id=delivery_id)
    at_door = device.mint("at_door", delivery_id=delivery_id)
    device.send("at_door", at_door)
    device.cloud.wait_event("delivery.unlocked", delivery_id=delivery_id)
    device.cloud.wait_state(lock="unlocked")
    return at_door


def sequence(device, delivery_id: str = "D-1") -> list[str]:
    """The delivery's events, without the lock's audit trail (`lock.changed`)."""
    return [
        e["type"]
        for e in device.events()
        if e["delivery_id"] == delivery_id and e["type"] != "lock.changed"
    ]


def test_full_in_home_delivery(new_device) -> None:
    device = in_home(new_device)
    unlock(device)
    device.cloud.wait_state(delivery={"id": "D-1", "mode": "in_home", "phase": "unlocked"})
    device.sim("door", "open")
    device.cloud.wait_event("delivery.door_opened")
    device.cloud.wait_state(door="open", delivery={"id": "D-1", "mode": "in_home", "phase": "open"})
    device.cloud.wait_for(
        lambda got: sum(e.get("purpose") == "door_open" for e in got.events) >= 2,
        what="photos while the door is open",
    )
    device.sim("door", "close")
    completed = device.cloud.wait_event("delivery.completed", delivery_id="D-1")
    assert completed["outcome"] == "delivered" and completed["mode"] == "in_home"
    device.cloud.wait_state(lock="locked", door="closed", delivery=None)

    steps = [t for t in sequence(device) if t != "delivery.photo"]
    assert steps[:4] == [
        "delivery.arriving",
        "delivery.unlocked",
        "delivery.door_opened",
        "delivery.door_closed",
    ]
    # The clip of the unlocked window goes on past the relock, and comes before the completion.
    assert steps[-3:] == ["delivery.locked", "delivery.clip", "delivery.completed"]
    photos = {e["photo_id"]: e for e in device.events("delivery.photo")}
    assert set(completed["photos"]) == set(photos)
    confirmation = [p for p in photos.values() if p["purpose"] == "confirmation"]
    assert confirmation and all(
        device.events().index(p) > device.events().index(device.cloud.wait_event("delivery.locked"))
        for p in confirmation
    )


def test_each_gate_refuses_without_moving_the_lock(new_device) -> None:
    device = in_home(new_device)
    at_door = unlock(device)
    device.send("at_door", device.mint("at_door"))
    device.rejected("wrong_state")
    device.send("arriving", device.mint("arriving", delivery_id="D-2", mode="in_home"))
    device.cloud.wait_event("delivery.arriving", delivery_id="D-2")
    device.send("at_door", device.mint("at_door", delivery_id="D-2"))
    device.rejected("busy", delivery_id="D-2")
    device.send("at_door", at_door)
    device.rejected("replayed")
    device.send("cancel", device.mint("cancel"))  # not racing the unlock timeout: end D-1 now
    completed = device.cloud.wait_event("delivery.completed", delivery_id="D-1")
    assert completed["outcome"] == "cancelled"
    device.cloud.wait_state(lock="locked")

    device.sim("camera", "fail")
    device.cloud.wait_state(camera="fault")
    device.send("at_door", device.mint("at_door", delivery_id="D-2"))
    device.rejected("camera_unavailable", delivery_id="D-2")
    assert [e for e in device.events("delivery.unlocked") if e["delivery_id"] == "D-2"] == []


def test_door_left_open_alarms_once_and_the_delivery_still_finishes(new_device) -> None:
    device = in_home(new_device)
    unlock(device)
    device.sim("door", "open")
    device.cloud.wait_event("alarm.door_left_open", delivery_id="D-1", timeout=10)
    device.send("done", device.mint("done"))
    device.sim("door", "close")
    assert device.cloud.wait_event("delivery.completed")["outcome"] == "delivered"
    assert len(device.events("alarm.door_left_open")) == 1


def test_kill_9_while_unlocked_then_restart(new_device) -> None:
    device = in_home(new_device)
    at_door = unlock(device)
    device.daemon.kill()
    device.cloud.wait_availability("offline")  # the broker's will message

    device.start()
    device.cloud.wait_state(lock="locked", delivery=None)
    completed = device.cloud.wait_event("delivery.completed", delivery_id="D-1")
    assert completed["outcome"] == "interrupted"
    device.send("at_door", at_door)
    device.rejected("replayed")


def test_sigterm_while_unlocked_relocks_before_exit(new_device) -> None:
    device = in_home(new_device)
    unlock(device)
    assert device.daemon.terminate(timeout=5) == 0
    device.cloud.wait_availability("offline")
    assert device.cloud.received.states[-1]["lock"] == "locked"
    assert "event=lock_driven target=locked reason=stopping" in device.daemon.log_text()


def test_a_flood_of_messages_cannot_hold_the_door_unlocked(new_device, mosquitto) -> None:

    device = in_home(new_device)
    unlock(device)
    stop = threading.Event()

    def flood() -> None:  # another client, so the cloud's receiver is not slowed down
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        client.connect(mosquitto.host, mosquitto.port)
        client.loop_start()
        while not stop.is_set():
            for _ in range(100):
                client.publish(f"doorstep/{device.device_id}/cmd/junk", b"x", qos=0)
            stop.wait(0.01)  # yields to the other threads; the daemon's queue stays full
        client.disconnect()
        client.loop_stop()

    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    try:
        # The retained state is published directly, not queued behind the flood's rejections.
        device.cloud.wait_state(lock="locked", delivery=None, timeout=15)
    finally:
        stop.set()
        flooder.join(timeout=10)
    completed = device.cloud.wait_event("delivery.completed", timeout=60)
    assert completed["outcome"] == "not_entered"  # the bolt's reading was not starved either


def test_a_camera_frozen_as_soon_as_the_device_is_online_never_watches_an_unlock(
    new_device,
) -> None:
    """The outside test's reproduction: freeze at once, arriving, at_door half a second later."""
    device = new_device(IN_HOME, start=False)
    device.start()
    device.sim("camera", "freeze")
    device.send("arriving", device.mint("arriving", mode="in_home"))
    device.cloud.wait_event("delivery.arriving")
    device.send("at_door", device.mint("at_door", jti="frozen-1"))
    assert device.rejected("camera_unavailable", jti="frozen-1")["delivery_id"] == "D-1"
    device.cloud.wait_state(camera="fault", lock="locked")
    assert device.events("delivery.unlocked") == []


def test_a_camera_that_freezes_while_the_courier_is_inside_raises_an_alarm_at_once(
    new_device,
) -> None:
    # The unlocked window is watched the whole time (four looks a second, a frame never
    # older than a second), not only at the unlock.
    device = in_home(new_device)
    unlock(device)
    device.sim("door", "open")
    device.sim("camera", "freeze")
    alarm = device.cloud.wait_event("alarm.camera_fault", delivery_id="D-1")
    assert "frame_age_s" in alarm and "frame counter stopped" in alarm["detail"]
    device.sim("door", "close")  # the sequence still ends: relocked, whatever the camera does
    device.cloud.wait_state(lock="locked", delivery=None)
