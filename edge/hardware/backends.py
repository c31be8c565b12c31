"""Assemble the hardware for `hardware.backend`: "sim" (MockFactory, Pillow) or "pi" (lgpio,
picamera2). Callbacks given here only enqueue into the core loop."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.config import Config
from edge.domain.model import LockReading
from edge.hardware import Camera, DoorSensor, Lock
from edge.hardware.clock import ClockSync, clock_sync
from edge.hardware.gpio import GpioParts
from edge.hardware.signals import Signals
from edge.hardware.video import SoftwareVideo, VideoFormat, VideoSource

PI_CAMERA_FIX = (
    "check the camera's ribbon cable, the camera lines in config.txt and that the "
    "doorstep user is in group video; doorstep doctor tests the camera"
)
SIM_CAMERA_FIX = "the simulated camera was told to fail or freeze: publish ok on sim/camera"


class HardwareError(RuntimeError):
    """The configured hardware cannot be opened."""


@dataclass
class Hardware:
    lock: Lock
    door: DoorSensor
    camera: Camera
    clock: Callable[[], ClockSync]
    world: Any  # SimWorld on the sim backend, else None
    parts: GpioParts
    signals: Signals
    camera_fix: str  # what the homeowner can do when this camera fails, for the log
    video: Callable[[VideoFormat], VideoSource]  # where clips and the live view come from

    def clock_synced(self) -> bool:
        return self.clock().synced

    def close(self) -> None:
        self.camera.close()
        self.signals.close()
        self.parts.close()


def build_hardware(
    config: Config,
    *,
    on_door: Callable[[bool], None],
    on_doorbell: Callable[[], None],
    on_lock: Callable[[LockReading], None],
) -> Hardware:
    if config.hardware.backend == "sim":
        from edge.hardware.sim import (  # noqa: PLC0415 - the sim backend only
            SimLock,
            SimWorld,
            sim_camera,
            sim_factory,
            sim_pins,
        )

        factory = sim_factory()
        parts = GpioParts(
            sim_pins(config.hardware.pins),
            factory,
            on_door=on_door,
            on_doorbell=on_doorbell,
            on_lock=on_lock,
        )
        world = SimWorld(parts, factory, sim_camera(config))
        return Hardware(
            SimLock(parts, world),
            parts.door,
            world.camera,
            clock_of(config),
            world,
            parts,
            Signals(parts.indicator_led, parts.buzzer),
            SIM_CAMERA_FIX,
            lambda video: SoftwareVideo(world.camera, video),
        )

    from edge.hardware.pi_camera import CameraSetup, PiCamera  # noqa: PLC0415 - pi only
    from edge.hardware.pi_video import PiVideo  # noqa: PLC0415

    factory = open_gpio(config.hardware.gpio_chip, config.storage.data_dir)
    parts = GpioParts(
        config.hardware.pins, factory, on_door=on_door, on_doorbell=on_doorbell, on_lock=on_lock
    )
    cam = config.hardware.camera
    camera = PiCamera(
        CameraSetup(
            (cam.width, cam.height),
            cam.flips,
            None
            if cam.sensor_width is None or cam.sensor_height is None
            else (cam.sensor_width, cam.sensor_height),
            cam.max_frame_interval_s,
            cam.capture_timeout_s,
        )
    )
    return Hardware(
        parts.lock,
        parts.door,
        camera,
        clock_of(config),
        None,
        parts,
        Signals(parts.indicator_led, parts.buzzer),
        PI_CAMERA_FIX,
        lambda video: PiVideo(camera, video),  # the camera's own encoder, on its lores stream
    )


def prepare_lgpio(fallback: Path) -> None:
    """Before lgpio is imported: its notify FIFO goes to ``fallback`` when the working
    directory cannot take it (a service's read-only root). lgpio then makes ``fallback``
    the working directory."""
    if "LG_WD" not in os.environ and not os.access(".", os.W_OK):
        fallback.mkdir(parents=True, exist_ok=True)
        os.environ["LG_WD"] = str(fallback)


def open_gpio(chip: int | None, data_dir: Path) -> Any:
    """The Pi's GPIO chip through lgpio, or HardwareError saying why not."""
    prepare_lgpio(data_dir)
    try:
        from edge.hardware.pi_gpio import DoorLGPIOFactory  # noqa: PLC0415 - imports lgpio

        return DoorLGPIOFactory(chip)
    except Exception as exc:  # ImportError off the Pi, or no /dev/gpiochip access
        raise HardwareError(f"cannot open GPIO chip {chip} with lgpio: {exc}") from exc


SIM_CLOCK = ClockSync(True, "the sim backend's clock is always synchronised")


def clock_of(config: Config) -> Callable[[], ClockSync]:
    """Whether the clock is synchronised, and who says so: the kernel's word on a Pi (or
    systemd-timesyncd's, under the unit's sandbox); the sim's always is."""
    return (lambda: SIM_CLOCK) if config.hardware.backend == "sim" else clock_sync
