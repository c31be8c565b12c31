"""The simulated world (PROTOCOL §6): real gpiozero devices on gpiozero's MockFactory, whose
inputs are driven by `sim/*` messages, and a Pillow camera. Shipped code, not a test helper."""

from __future__ import annotations

from collections import deque

from gpiozero.pins.mock import MockFactory, MockPin

from edge.config import Config, PinMap
from edge.hardware.gpio import GpioParts
from edge.hardware.sim_camera import SimCamera

SIM_PAYLOADS = {
    "door": ("open", "close"),
    "doorbell": ("press",),
    "camera": ("fail", "ok", "freeze"),
    "lock": ("jam", "ok"),
}


PIN_HISTORY = 1000


class SimPin(MockPin):
    """gpiozero's MockPin with its history of states bounded: a simulated door that runs for
    months must not remember every edge (tests read the recent ones)."""

    def clear_states(self) -> None:
        super().clear_states()
        self.states = deque(self.states, maxlen=PIN_HISTORY)


def sim_factory() -> MockFactory:
    return MockFactory(pin_class=SimPin)


def sim_pins(pins: PinMap) -> PinMap:
    """The simulated lock always has a sensor (so `sim/lock jam` means something)."""
    if pins.lock_sensor is not None:
        return pins
    used = {pins.lock_relay, pins.door_contact, pins.doorbell}
    return pins.model_copy(update={"lock_sensor": min(set(range(28)) - used)})


class SimWorld:
    """Plays the door, the doorbell, the bolt and the camera. Inputs are pulled-up pins, so a
    device is active when its pin is driven low."""

    def __init__(self, parts: GpioParts, factory: MockFactory, camera: SimCamera) -> None:
        self._parts = parts
        self._factory = factory
        self.camera = camera
        self._jammed = False
        self._set_input(parts.pins.door_contact, parts.pins.door_contact_active_when_closed)
        self.follow_relay()

    @property
    def relay_pin(self) -> object:
        """The lock relay's MockPin: its `state` and `states` history are what the lock saw."""
        return self._factory.pin(self._parts.pins.lock_relay)

    def _set_input(self, pin: int, active: bool) -> None:
        mock = self._factory.pin(pin)
        if active:
            mock.drive_low()
        else:
            mock.drive_high()

    def follow_relay(self) -> None:
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
        pins = self._parts.pins
        if name == "door":
            self.camera.see_door(payload == "open")
            self._set_input(pins.door_contact,
                            (payload == "close") == pins.door_contact_active_when_closed)
        elif name == "doorbell":
            self._set_input(pins.doorbell, True)
            self._set_input(pins.doorbell, False)
        elif name == "camera":
            self.camera.set_mode(payload)
        else:
            self._jammed = payload == "jam"
            self.follow_relay()
        return True


class SimLock:
    """The relay as the core drives it, with the simulated bolt answering each move."""

    def __init__(self, parts: GpioParts, world: SimWorld) -> None:
        self._parts = parts
        self._world = world

    def drive(self, locked: bool) -> None:
        self._parts.lock.drive(locked)
        self._world.follow_relay()

    def sensed(self) -> str:
        return self._parts.lock.sensed()


def sim_camera(config: Config) -> SimCamera:
    cam = config.hardware.camera
    return SimCamera(cam.width, cam.height, cam.jpeg_quality, config.device_id, cam.flips)
