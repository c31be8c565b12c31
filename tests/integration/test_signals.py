"""The indicator LED and the buzzer as real gpiozero devices on mock pins, driven by the daemon
in-process through an in-home delivery: each pattern shows on its pin and in `state`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.inprocess import in_process
from tests.waiting import wait_until

LED_PIN, BUZZER_PIN = 5, 6
CONFIG = f"""
[delivery]
in_home_enabled = true
relock_delay_s = 0.2
lock_verify_s = 1
door_open_alarm_s = 0.5

[hardware.pins]
indicator_led = {LED_PIN}
buzzer = {BUZZER_PIN}
"""


class Pin:
    """A mock pin's history read as a person would: how many pulses since a mark, how long.
    (gpiozero's MockPin stamps each change with the time since the change before it.)"""

    def __init__(self, mock: Any) -> None:
        self.mock = mock
        self.since = 0

    def mark(self) -> None:
        self.since = len(self.mock.states)  # fewer than its 1,000 kept changes in this test

    def pulses(self) -> list[float]:
        """The length of each completed high pulse since the mark, in seconds."""
        states = list(self.mock.states)[self.since :]
        return [
            low.timestamp
            for high, low in zip(states, states[1:], strict=False)
            if high.state and not low.state
        ]

    def quiet_after(self, count: int) -> bool:
        return len(self.pulses()) == count and not self.mock.state


def test_every_signal_pattern_on_the_pins_and_in_state(
    tmp_path: Path, cloud_keys, mosquitto
) -> None:
    with in_process(tmp_path, cloud_keys, mosquitto, "porch-signals", CONFIG) as daemon:
        cloud, world = daemon.cloud, daemon.hardware.world
        led, buzzer = Pin(world.pin(LED_PIN)), Pin(world.pin(BUZZER_PIN))
        cloud.wait_state(lock="locked", indicator="off")
        assert not led.mock.state

        buzzer.mark()
        daemon.send_pass("arriving", mode="in_home")
        daemon.send_pass("at_door", mode="in_home")
        cloud.wait_state(lock="unlocked", indicator="on")
        wait_until(lambda: led.mock.state, "the LED on while unlocked")
        wait_until(lambda: buzzer.quiet_after(2), "two short beeps at the unlock")
        assert all(length < 0.3 for length in buzzer.pulses())

        buzzer.mark()
        cloud.publish("sim/door", "open")
        cloud.wait_event("alarm.door_left_open")
        wait_until(lambda: len(buzzer.pulses()) >= 3, "beeping while the door is left open")
        cloud.publish("sim/door", "close")
        cloud.wait_event("delivery.locked")
        cloud.wait_state(lock="locked", indicator="off")
        wait_until(lambda: not led.mock.state, "the LED out once the relock is verified")
        wait_until(
            lambda: any(length >= 0.7 for length in buzzer.pulses()) and not buzzer.mock.state,
            "one long beep for the verified relock",
        )

        buzzer.mark()
        daemon.send_pass("at_door", mode="in_home", delivery_id="D-unknown")
        cloud.wait_event("command.rejected", delivery_id="D-unknown")
        wait_until(lambda: buzzer.quiet_after(3), "three short beeps at a refused at_door")

        daemon.send_pass("arriving", mode="in_home", delivery_id="D-2")
        daemon.send_pass("at_door", mode="in_home", delivery_id="D-2")
        cloud.wait_state(lock="unlocked")
        cloud.publish("sim/lock", "jam")
        cloud.publish("sim/door", "open")
        cloud.publish("sim/door", "close")
        cloud.wait_state(lock="jammed", indicator="blinking_fast")
        led.mark()
        wait_until(lambda: len(led.pulses()) >= 3, "the LED blinking fast on a lock fault")
        assert all(length < 0.3 for length in led.pulses())
        cloud.publish("sim/lock", "ok")
        cloud.wait_state(lock="locked", indicator="off")
        wait_until(lambda: not led.mock.state, "the LED out once the lock recovers")
