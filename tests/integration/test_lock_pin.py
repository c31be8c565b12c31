"""The daemon in-process on the sim backend: the lock relay's gpiozero pin and the retained
`state` topic agree at every step of an in-home delivery, and the relay closes exactly once."""

from __future__ import annotations

import threading
from pathlib import Path

from edge.app import run
from edge.config import load_config
from simulator.cloud import mint
from simulator.daemon import write_sim_config
from simulator.receiver import CloudReceiver

IN_HOME = "[delivery]\nin_home_enabled = true\nrelock_delay_s = 0.2\nlock_verify_s = 1\n"


def test_relay_pin_and_state_agree_through_an_in_home_delivery(tmp_path: Path, cloud_keys,
                                                                mosquitto) -> None:
    config = load_config(write_sim_config(
        tmp_path / "doorstep.toml", device_id="porch-pin", port=mosquitto.port,
        trusted_key=cloud_keys.public, data_dir=tmp_path / "data", protocol="5", extra=IN_HOME))
    stop = threading.Event()
    hardware: list = []
    daemon = threading.Thread(target=run, args=(config, stop, hardware.append), daemon=True)
    cloud = CloudReceiver(mosquitto.host, mosquitto.port, "doorstep", "porch-pin")
    daemon.start()
    try:
        cloud.wait_availability("online")
        relay = hardware[0].world.relay_pin

        def agree(lock: str, energised: int, **fields: object) -> None:
            cloud.wait_state(lock=lock, **fields)
            assert relay.state == energised, f"state says {lock}, relay pin is {relay.state}"

        agree("locked", 0, delivery=None)
        send = lambda cmd: cloud.publish(f"cmd/{cmd}", mint(  # noqa: E731
            cloud_keys.private, cmd, device_id="porch-pin", delivery_id="D-1", mode="in_home"))
        send("arriving")
        agree("locked", 0, delivery={"id": "D-1", "mode": "in_home", "phase": "waiting"})
        send("at_door")
        agree("unlocked", 1, delivery={"id": "D-1", "mode": "in_home", "phase": "unlocked"})
        cloud.publish("sim/door", "open")
        agree("unlocked", 1, door="open")
        cloud.publish("sim/door", "close")
        cloud.wait_event("delivery.completed")
        agree("locked", 0, door="closed", delivery=None)
        # The relay went high once and low once after its initial low: exactly one unlock.
        levels = [s.state for s in relay.states]
        transitions = [b for a, b in zip(levels, levels[1:]) if a != b]
        assert transitions == [1, 0], levels
    finally:
        stop.set()
        daemon.join(timeout=10)
        cloud.close()
    assert not daemon.is_alive()
