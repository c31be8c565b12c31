"""The daemon in-process on the sim backend, with a camera that freezes without telling anyone
(a real camera that hangs sends no `sim/camera` message): the door never opens on a cached
"camera ok"; only a frame captured after the pass, newer than the one before it, opens it."""

from __future__ import annotations

from pathlib import Path

from tests.inprocess import in_process

IN_HOME = "[delivery]\nin_home_enabled = true\nunlock_timeout_s = 60\n"


def test_a_silently_frozen_camera_never_lets_the_door_open(
    tmp_path: Path, cloud_keys, mosquitto
) -> None:
    with in_process(tmp_path, cloud_keys, mosquitto, "porch-frozen", IN_HOME) as daemon:
        cloud = daemon.cloud
        cloud.wait_state(camera="ok")  # the probe at start saw frames flowing
        camera, relay = daemon.hardware.camera, daemon.hardware.world.relay_pin
        camera.set_mode("freeze")  # no probe is told: the cached health still says ok
        daemon.send_pass("arriving", mode="in_home", jti="g-1")
        cloud.wait_event("delivery.arriving")
        daemon.send_pass("at_door", mode="in_home", jti="a-1")
        refused = cloud.wait_event("command.rejected", jti="a-1")
        assert refused["reason"] == "camera_unavailable"
        # The frozen frame is the one before it (stopped advancing) or, when the recorder saw
        # it last, a frame from before the pass: either way no fresh frame, no unlock.
        assert any(
            why in refused["detail"] for why in ("stopped advancing", "older than the pass")
        ), refused
        cloud.wait_event("alarm.camera_fault", delivery_id="D-1")
        assert [s.state for s in relay.states if s.state] == [], "the relay was energised"
        assert not [e for e in cloud.received.events if e["type"] == "delivery.unlocked"]

        camera.set_mode("ok")  # live again: the same kind of pass now opens the door
        daemon.send_pass("at_door", mode="in_home", jti="a-2")
        cloud.wait_event("delivery.unlocked", delivery_id="D-1")
        cloud.wait_state(lock="unlocked", camera="ok")
        assert relay.state == 1
