"""The sim backend drives real gpiozero devices on MockFactory: check the pins themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.config import load_config
from edge.hardware import CameraError
from edge.hardware.backends import build_hardware
from simulator.daemon import write_sim_config


@pytest.fixture
def hardware(tmp_path: Path, cloud_keys):
    config = load_config(
        write_sim_config(
            tmp_path / "d.toml",
            device_id="p",
            port=1,
            trusted_key=cloud_keys.public,
            data_dir=tmp_path,
        )
    )
    seen: list[object] = []
    hw = build_hardware(
        config,
        on_door=lambda o: seen.append(("door", o)),
        on_doorbell=lambda: seen.append("bell"),
        on_lock=lambda s: seen.append(("lock", s)),
    )
    hw.seen = seen  # type: ignore[attr-defined]  # what the callbacks heard, for the test
    yield hw
    hw.close()
    hw.close()  # closing twice is safe


def relay_pin(hw) -> int:
    return hw.world.relay_pin.state


def test_starts_locked_and_closed(hardware) -> None:
    assert relay_pin(hardware) == 0  # de-energised: a fail-secure strike is locked
    assert hardware.lock.sensed() == "locked"
    assert hardware.door.is_open() is False


def test_sim_inputs_move_the_gpio_devices(hardware) -> None:
    hardware.seen.clear()
    assert hardware.world.apply("door", "open")
    assert hardware.door.is_open() is True
    assert hardware.world.apply("doorbell", "press")
    assert hardware.world.apply("door", "close")
    assert hardware.seen == [("door", True), "bell", ("door", False)]


def test_the_bolt_follows_the_relay_unless_jammed(hardware) -> None:
    hardware.lock.drive(False)
    assert relay_pin(hardware) == 1 and hardware.lock.sensed() == "unlocked"
    hardware.world.apply("lock", "jam")
    hardware.lock.drive(True)
    assert relay_pin(hardware) == 0 and hardware.lock.sensed() == "unlocked"
    hardware.world.apply("lock", "ok")
    assert hardware.lock.sensed() == "locked"


def test_camera_fail_and_recover(hardware) -> None:

    first = hardware.camera.capture()
    assert first.image.size == (640, 480) and first.image.mode == "RGB"
    hardware.world.apply("camera", "fail")
    with pytest.raises(CameraError):
        hardware.camera.capture()
    hardware.world.apply("camera", "freeze")
    frozen = hardware.camera.capture()
    assert hardware.camera.capture() == frozen
    hardware.world.apply("camera", "ok")
    assert hardware.camera.capture().sequence > frozen.sequence


@pytest.mark.parametrize("name, payload", [("door", "ajar"), ("garage", "open"), ("lock", "")])
def test_unknown_sim_payloads_are_refused(hardware, name: str, payload: str) -> None:
    assert hardware.world.apply(name, payload) is False


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(["door", "doorbell", "camera", "lock"]) | st.text(max_size=30),
    payload=st.text(max_size=60),
)
def test_any_sim_message_is_applied_or_refused_never_raised(hardware, name, payload) -> None:
    assert hardware.world.apply(name, payload) in (True, False)
