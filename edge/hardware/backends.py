"""Assemble the hardware for `hardware.backend`: "sim" (MockFactory, Pillow) or "pi" (lgpio,
picamera2). Callbacks given here only enqueue into the core loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from edge.config import Config
from edge.domain.model import LockReading
from edge.hardware import Camera, DoorSensor, Lock
from edge.hardware.clock import kernel_clock_synced
from edge.hardware.gpio import GpioParts


class HardwareError(RuntimeError):
    """The configured hardware cannot be opened."""


@dataclass
class Hardware:
    lock: Lock
    door: DoorSensor
    camera: Camera
    clock_synced: Callable[[], bool]
    world: Any  # SimWorld on the sim backend, else None
    parts: GpioParts

    def close(self) -> None:
        self.camera.close()
        self.parts.close()


def build_hardware(config: Config, *, on_door: Callable[[bool], None],
                   on_doorbell: Callable[[], None],
                   on_lock: Callable[[LockReading], None]) -> Hardware:
    callbacks = {"on_door": on_door, "on_doorbell": on_doorbell, "on_lock": on_lock}
    if config.hardware.backend == "sim":
        from edge.hardware.sim import SimLock, SimWorld, sim_camera, sim_factory, sim_pins

        factory = sim_factory()
        parts = GpioParts(sim_pins(config.hardware.pins), factory, **callbacks)
        world = SimWorld(parts, factory, sim_camera(config))
        return Hardware(SimLock(parts, world), parts.door, world.camera, lambda: True, world, parts)

    from edge.hardware.pi_camera import PiCamera

    try:
        from gpiozero.pins.lgpio import LGPIOFactory

        factory = LGPIOFactory(chip=config.hardware.gpio_chip)
    except Exception as exc:  # ImportError off the Pi, or no /dev/gpiochip access
        raise HardwareError(f"cannot open the GPIO chip with lgpio: {exc}") from exc
    parts = GpioParts(config.hardware.pins, factory, **callbacks)
    cam = config.hardware.camera
    camera = PiCamera(cam.width, cam.height, cam.flips)
    return Hardware(parts.lock, parts.door, camera, kernel_clock_synced, None, parts)
