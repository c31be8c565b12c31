"""The simulated world (docs/protocol.md §6): real gpiozero devices on gpiozero's MockFactory, whose
inputs are driven by `sim/*` messages, and a Pillow camera. Shipped code, not a test helper."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin

from edge.config import Config, PinMap
from edge.domain.model import LockReading
from edge.hardware.gpio import GpioLock, GpioParts
from edge.hardware.sim_camera import SimCamera

log = logging.getLogger(__name__)

SIM_PAYLOADS = {
    "door": ("open", "close"),
    "doorbell": ("press",),
    "camera": ("fail", "ok", "freeze"),
    "lock": ("jam", "ok"),
    "parcel": ("place", "remove"),
}


PIN_HISTORY = 1000


class SimPin(MockPin):  # type: ignore[misc]  # gpiozero has no type hints
    """gpiozero's MockPin with its history of states bounded: a simulated door that runs for
    months must not remember every edge (tests read the recent ones)."""

    def clear_states(self) -> None:
        super().clear_states()
        self.states: deque[Any] = deque(self.states, maxlen=PIN_HISTORY)


def sim_factory() -> MockFactory:
    return MockFactory(pin_class=SimPin)


def sim_pins(pins: PinMap) -> PinMap:
    """The simulated lock always has a sensor (so `sim/lock jam` means something)."""
    if pins.lock_sensor is not None:
        return pins
    used = set(pins.used)
    return pins.model_copy(update={"lock_sensor": min(set(range(28)) - used)})


class SimWorld:
    """Plays the door, the doorbell, the bolt and the camera. Inputs are pulled-up pins, so a
    device is active when its pin is driven low."""

    def __init__(self, parts: GpioParts, factory: MockFactory, camera: SimCamera) -> None:
        self._parts = parts
        self._factory = factory
        self.camera = camera
        self._jammed = False
        self._lock = threading.RLock()  # the broker link plays the world, the core drives it
        self._set_input(parts.pins.door_contact, parts.pins.door_contact_active_when_closed)
        self._follow_relay()

    @property
    def relay_pin(self) -> Any:
        """The lock relay's MockPin: its `state` and `states` history are what the lock saw."""
        return self._factory.pin(self._parts.pins.lock_relay)

    def pin(self, number: int) -> Any:
        """Any pin's MockPin (the indicator LED's, the buzzer's): what a person would see."""
        return self._factory.pin(number)

    def _set_input(self, pin: int, active: bool) -> None:
        mock = self._factory.pin(pin)
        if active:
            mock.drive_low()
        else:
            mock.drive_high()

    def drive(self, lock: GpioLock, locked: bool) -> None:
        """The core drives the relay; the bolt answers, in one step with respect to `sim/*`."""
        with self._lock:
            lock.drive(locked)
            self._follow_relay()

    def _follow_relay(self) -> None:
        """The bolt follows the relay unless jammed; a jammed bolt never reads locked."""
        pins = self._parts.pins
        relay_energised = bool(self.relay_pin.state) == pins.lock_relay_active_high
        locked = not relay_energised and not self._jammed
        assert pins.lock_sensor is not None
        self._set_input(pins.lock_sensor, locked == pins.lock_sensor_active_when_locked)

    def apply(self, name: str, payload: str) -> bool:
        """Apply one `sim/NAME` payload; False when the topic or payload is unknown."""
        if payload not in SIM_PAYLOADS.get(name, ()):
            return False
        with self._lock:
            self._apply(name, payload)
        return True

    def _apply(self, name: str, payload: str) -> None:
        pins = self._parts.pins
        if name == "door":
            self.camera.see_door(payload == "open")
            self._set_input(
                pins.door_contact, (payload == "close") == pins.door_contact_active_when_closed
            )
        elif name == "doorbell":
            self._set_input(pins.doorbell, True)
            self._set_input(pins.doorbell, False)
        elif name == "camera":
            self.camera.set_mode(payload)
        elif name == "parcel":
            self.camera.see_parcel(payload == "place")
        else:
            self._jammed = payload == "jam"
            self._follow_relay()


class SimInbound:
    """The `sim/*` handler: plays a message on the simulated world (on the broker link's
    thread; the world then reports through the same pin callbacks as real hardware). Only the
    sim backend builds one: a Pi never plays `sim/*`."""

    def __init__(
        self, world: SimWorld, *, on_camera: Callable[[], None], refuse: Callable[[str], None]
    ) -> None:
        self._world = world
        self._on_camera = on_camera  # a camera changed: look at it now, not at the next probe
        self._refuse = refuse

    def __call__(self, name: str, payload: bytes, live: bool) -> None:
        text = payload.decode("utf-8", errors="replace").strip()
        if not self._world.apply(name, text):
            self._refuse(f"sim/{name}"[:64])
            return
        # The test's own input (at DEBUG, `doorstep run -v`): the journal tells what the device
        # made of it, as on a Pi, where a pin's edge writes no line either.
        log.debug("event=sim_applied topic=sim/%s payload=%s", name, text[:32])
        if name == "camera":
            self._on_camera()


class SimLock:
    """The relay as the core drives it, with the simulated bolt answering each move."""

    def __init__(self, parts: GpioParts, world: SimWorld) -> None:
        self._parts = parts
        self._world = world

    def drive(self, locked: bool) -> None:
        self._world.drive(self._parts.lock, locked)

    def sensed(self) -> LockReading:
        return self._parts.lock.sensed()


def sim_camera(config: Config) -> SimCamera:
    cam = config.hardware.camera
    return SimCamera(cam.width, cam.height, config.device_id, cam.flips)
