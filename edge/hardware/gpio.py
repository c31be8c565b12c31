"""The door's GPIO parts as gpiozero devices on a pin factory we are given (never the global one).

The lock relay starts de-energised, which on fail-secure hardware means locked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpiozero import LED, Button, Buzzer, DigitalInputDevice, OutputDevice

from edge.config import PinMap
from edge.domain.model import LockReading

DEBOUNCE_S = 0.05


class GpioLock:
    """A relay-driven strike or bolt, optionally with a sensor that reads the bolt."""

    def __init__(
        self,
        relay: OutputDevice,
        sensor: DigitalInputDevice | None,
        sensor_active_when_locked: bool,
    ) -> None:
        self._relay = relay
        self._sensor = sensor
        self._active_when_locked = sensor_active_when_locked

    def drive(self, locked: bool) -> None:
        if locked:
            self._relay.off()
        else:
            self._relay.on()

    def sensed(self) -> LockReading:
        if self._sensor is None:
            return LockReading.UNLOCKED if self._relay.is_active else LockReading.LOCKED
        locked = self._sensor.is_active == self._active_when_locked
        return LockReading.LOCKED if locked else LockReading.UNLOCKED


class GpioDoor:
    def __init__(self, contact: DigitalInputDevice, active_when_closed: bool) -> None:
        self._contact = contact
        self._active_when_closed = active_when_closed

    def is_open(self) -> bool:
        return bool(self._contact.is_active) != self._active_when_closed


class GpioParts:
    """Builds every GPIO device and routes their edges to plain callbacks (which only enqueue)."""

    def __init__(
        self,
        pins: PinMap,
        factory: Any,
        *,
        on_door: Callable[[bool], None],
        on_doorbell: Callable[[], None],
        on_lock: Callable[[LockReading], None],
    ) -> None:
        self.pins = pins
        self._devices: list[Any] = []
        relay = self._keep(
            OutputDevice(
                pins.lock_relay,
                active_high=pins.lock_relay_active_high,
                initial_value=False,
                pin_factory=factory,
            )
        )
        sensor = None
        if pins.lock_sensor is not None:
            sensor = self._keep(
                DigitalInputDevice(
                    pins.lock_sensor, pull_up=True, bounce_time=DEBOUNCE_S, pin_factory=factory
                )
            )
        contact = self._keep(
            DigitalInputDevice(
                pins.door_contact, pull_up=True, bounce_time=DEBOUNCE_S, pin_factory=factory
            )
        )
        button = self._keep(
            Button(pins.doorbell, pull_up=True, bounce_time=DEBOUNCE_S, pin_factory=factory)
        )
        self.indicator_led: LED | None = (
            None
            if pins.indicator_led is None
            else self._keep(LED(pins.indicator_led, initial_value=False, pin_factory=factory))
        )
        self.buzzer: Buzzer | None = (
            None
            if pins.buzzer is None
            else self._keep(Buzzer(pins.buzzer, initial_value=False, pin_factory=factory))
        )
        self.lock = GpioLock(relay, sensor, pins.lock_sensor_active_when_locked)
        self.door = GpioDoor(contact, pins.door_contact_active_when_closed)
        contact.when_activated = contact.when_deactivated = lambda: on_door(self.door.is_open())
        button.when_pressed = on_doorbell
        if sensor is not None:
            sensor.when_activated = sensor.when_deactivated = lambda: on_lock(self.lock.sensed())

    def _keep(self, device: Any) -> Any:
        self._devices.append(device)
        return device

    def close(self) -> None:
        """Every output driven off first (the relay de-energised, the LED dark, the buzzer
        quiet: on a Pi they stay driven at that level), then every device closed; the relay
        last. Safe twice."""
        for device in reversed(self._devices):
            if isinstance(device, OutputDevice):
                device.off()
            device.close()
        self._devices.clear()
