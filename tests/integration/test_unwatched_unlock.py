"""The daemon in-process on the sim backend, with a camera that freezes without telling anyone
(a real camera that hangs sends no `sim/camera` message): the door never opens on a cached
"camera ok"; only a frame captured after the pass, newer than the one before it, opens it."""

from __future__ import annotations

import threading
from pathlib import Path

from edge.app import run
from edge.config import load_config
from simulator.cloud import mint
from simulator.daemon import write_sim_config
from simulator.receiver import CloudReceiver

IN_HOME = "[delivery]\nin_home_enabled = true\nunlock_timeout_s = 60\n"


def test_a_silently_frozen_camera_never_lets_the_door_open(tmp_path: Path, cloud_keys,
                                                          mosquitto) -> None:
    config = load_config(write_sim_config(
        tmp_path / "doorstep.toml", device_id="porch-frozen", port=mosquitto.port,
        trusted_key=cloud_keys.public, data_dir=tmp_path / "data", protocol="5", extra=IN_HOME))
    stop = threading.Event()
    hardware: list = []
    daemon = threading.Thread(target=run, args=(config, stop, hardware.append), daemon=True)
    cloud = CloudReceiver(mosquitto.host, mosquitto.port, "doorstep", "porch-frozen")
    daemon.start()

    def send(cmd: str, jti: str) -> None:
        cloud.publish(f"cmd/{cmd}", mint(cloud_keys.private, cmd, device_id="porch-frozen",
                                         delivery_id="D-1", mode="in_home", jti=jti))
    try:
        cloud.wait_availability("online")
        cloud.wait_state(camera="ok")  # the probe at start saw frames flowing
        camera, relay = hardware[0].camera, hardware[0].world.relay_pin
        camera.set_mode("freeze")  # no probe is told: the cached health still says ok
        send("arriving", "g-1")
        cloud.wait_event("delivery.arriving")
        send("at_door", "a-1")
        refused = cloud.wait_event("command.rejected", jti="a-1")
        assert refused["reason"] == "camera_unavailable"
        assert "stopped advancing" in refused["detail"]
        cloud.wait_event("alarm.camera_fault", delivery_id="D-1")
        assert [s.state for s in relay.states if s.state] == [], "the relay was energised"
        assert cloud.received.events and not [
            e for e in cloud.received.events if e["type"] == "delivery.unlocked"]

        camera.set_mode("ok")  # live again: the same kind of pass now opens the door
        send("at_door", "a-2")
        cloud.wait_event("delivery.unlocked", delivery_id="D-1")
        cloud.wait_state(lock="unlocked", camera="ok")
        assert relay.state == 1
    finally:
        stop.set()
        daemon.join(timeout=10)
        cloud.close()
    assert not daemon.is_alive()
