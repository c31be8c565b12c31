"""The daemon in-process on the sim backend: the lock relay's gpiozero pin and the retained
`state` topic agree at every step of an in-home delivery, and the relay closes exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.inprocess import in_process

IN_HOME = "[delivery]\nin_home_enabled = true\nrelock_delay_s = 0.2\nlock_verify_s = 1\n"


def test_relay_pin_and_state_agree_through_an_in_home_delivery(
    tmp_path: Path, cloud_keys, mosquitto
) -> None:
    with in_process(tmp_path, cloud_keys, mosquitto, "porch-pin", IN_HOME) as daemon:
        cloud, relay = daemon.cloud, daemon.hardware.world.relay_pin

        def agree(lock: str, energised: int, **fields: Any) -> None:
            cloud.wait_state(lock=lock, **fields)
            assert relay.state == energised, f"state says {lock}, relay pin is {relay.state}"

        agree("locked", 0, delivery=None)
        daemon.send_pass("arriving", mode="in_home")
        agree("locked", 0, delivery={"id": "D-1", "mode": "in_home", "phase": "waiting"})
        daemon.send_pass("at_door", mode="in_home")
        agree("unlocked", 1, delivery={"id": "D-1", "mode": "in_home", "phase": "unlocked"})
        cloud.publish("sim/door", "open")
        agree("unlocked", 1, door="open")
        cloud.publish("sim/door", "close")
        cloud.wait_event("delivery.completed")
        agree("locked", 0, door="closed", delivery=None)
        # The relay went high once and low once after its initial low: exactly one unlock.
        levels = [s.state for s in relay.states]
        transitions = [b for a, b in zip(levels, levels[1:], strict=False) if a != b]
        assert transitions == [1, 0], levels
