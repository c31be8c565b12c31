"""The lock relay on a Pi, through the real gpiozero and lgpio with only lgpio's C layer
simulated (tests/pi/lgpio_chip.py): what the kernel is asked to do with the relay's line when
doorstep starts, stops, and after it is gone (`doorstep relay-off`, the unit's ExecStopPost)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.daemon import write_sim_config
from tests.pi.lgpio_chip import device_tree, run_on_chip

PARTS = """
from edge.config import PinMap
from edge.hardware.gpio import GpioParts
from edge.hardware.pi_gpio import DoorLGPIOFactory
factory = DoorLGPIOFactory(0, device_tree=Path("tree"))
parts = GpioParts(PinMap(lock_relay_active_high={active_high}), factory, on_door=print,
                  on_doorbell=print, on_lock=print)
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    device_tree(tmp_path / "tree")
    return tmp_path


@pytest.mark.parametrize("active_high", [True, False])
def test_a_start_never_energises_the_relay(folder: Path, active_high: bool) -> None:
    # gpiozero's own lgpio pin claimed the line as a floating input, then as an output at
    # level 0, then wrote the level: a low-trigger board's relay pulsed at every start.
    report = run_on_chip(
        "from pathlib import Path\n"
        + PARTS.format(active_high=active_high)
        + "parts.lock.drive(True)\n",
        folder,
    )
    locked = 0 if active_high else 1
    assert report["history"]["17"] == [locked, locked]


@pytest.mark.parametrize("active_high", [True, False])
def test_a_stop_leaves_the_relay_driven_locked(folder: Path, active_high: bool) -> None:
    # Closed the gpiozero way, lgpio gave the line back as an input with no bias: it floated.
    script = (
        "from pathlib import Path\n"
        + PARTS.format(active_high=active_high)
        + "parts.lock.drive(False)\nparts.lock.drive(True)\nparts.close()\nfactory.close()\n"
    )
    report = run_on_chip(script, folder)
    locked = 0 if active_high else 1
    assert report["history"]["17"][-1] == locked and report["mode"]["17"] == "output"
    assert "input" not in report["history"]["17"]
    assert report["mode"]["22"] == "input"  # inputs are given back as before


def test_relay_off_drives_the_relay_locked_with_nothing_else(folder: Path, cloud_keys) -> None:
    config = write_sim_config(
        folder / "doorstep.toml",
        device_id="porch-1",
        port=1,
        trusted_key=cloud_keys.public,
        data_dir=folder / "data",
    )
    text = config.read_text().replace('backend = "sim"', 'backend = "pi"\ngpio_chip = 0')
    config.write_text(text.replace("[hardware]", "[hardware]", 1))
    script = (
        "from pathlib import Path\nimport edge.hardware\n"
        "edge.hardware.DEVICE_TREE = Path('tree')\nfrom edge.cli import main\n"
        f"assert main(['relay-off', '--config', {str(config)!r}]) == 0\n"
    )
    report = run_on_chip(script, folder)
    assert report["history"]["17"] == [0] and report["mode"]["17"] == "output"


def test_relay_off_needs_none_of_the_files_the_config_names(folder: Path, cloud_keys) -> None:
    # After a stop systemd has taken $CREDENTIALS_DIRECTORY away: a config check of the MQTT
    # password would have stopped relay-off before it drove the relay.
    config = write_sim_config(
        folder / "doorstep.toml",
        device_id="porch-1",
        port=1,
        trusted_key=cloud_keys.public,
        data_dir=folder / "data",
        mqtt_extra='username = "porch-1"\npassword_file = "${CREDENTIALS_DIRECTORY}/gone"\n',
    )
    config.write_text(
        config.read_text().replace('backend = "sim"', 'backend = "pi"\ngpio_chip = 0')
    )
    script = (
        "from pathlib import Path\nimport edge.hardware\n"
        "edge.hardware.DEVICE_TREE = Path('tree')\nfrom edge.cli import main\n"
        f"assert main(['relay-off', '--config', {str(config)!r}]) == 0\n"
    )
    report = run_on_chip(script, folder, env={"CREDENTIALS_DIRECTORY": str(folder / "nothing")})
    assert report["history"]["17"] == [0] and report["mode"]["17"] == "output"


def test_a_stop_leaves_the_led_dark_and_the_buzzer_quiet(folder: Path) -> None:
    # Kept driven on a Pi once closed: an LED or buzzer on at the stop would have stayed on.
    script = (
        "from pathlib import Path\n"
        "from edge.config import PinMap\nfrom edge.hardware.gpio import GpioParts\n"
        "from edge.hardware.pi_gpio import DoorLGPIOFactory\n"
        "factory = DoorLGPIOFactory(0, device_tree=Path('tree'))\n"
        "parts = GpioParts(PinMap(indicator_led=24, buzzer=25), factory, on_door=print,\n"
        "                  on_doorbell=print, on_lock=print)\n"
        "parts.indicator_led.on(); parts.buzzer.on()\n"
        "parts.close()\nfactory.close()\n"
    )
    report = run_on_chip(script, folder)
    assert report["history"]["24"][-1] == 0 and report["history"]["25"][-1] == 0
