"""`doorstep run` on the Pi backend, as a Pi starts it, with only what exists on a Pi alone
simulated: lgpio's C extension (one gpiochip: tests/pi/lgpio_chip.py), libcamera's binding and
the kernel's dma-heap (tests/pi/picamera2_stack.py, memfd_heap.py), put in place by a
sitecustomize before the daemon starts. Above them run the real lgpio, gpiozero and picamera2,
and the daemon's own Pi wiring: an owner unlock is proved by a fresh picamera2 frame, and its
clip, made by picamera2's encoder from the camera's small stream, reaches the cloud and plays.
The same again under the shipped unit's restrictions (tests/pi/sandbox.py: its syscall filter,
MemoryDenyWriteExecute=, a read-only working directory, /proc as ProcSubset=pid, the device
tree where a Pi has it)."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest

from edge.crypto.owner_code import hash_code
from simulator.daemon import DaemonProcess
from simulator.device import DeviceUnderTest, Setup
from tests.pi import sandbox
from tests.pi.lgpio_chip import device_tree

ROOT = Path(__file__).parents[2]
CODE = "246810"
SIMULATED_KERNEL = """
from pathlib import Path
from edge.hardware.backends import prepare_lgpio
prepare_lgpio(Path({data!r}))  # as the daemon does before it imports lgpio
from tests.pi.lgpio_chip import install
install()
import tests.pi.picamera2_stack  # libcamera's binding, simulated, first on the path
import picamera2.picamera2
from tests.pi.memfd_heap import MemfdAllocator
picamera2.picamera2.DmaAllocator = MemfdAllocator  # memfd for the kernel's dma-heap
"""
SITE = SIMULATED_KERNEL + "import edge.hardware\nedge.hardware.DEVICE_TREE = Path({tree!r})\n"
UNDER_UNIT = SIMULATED_KERNEL + (
    "import sys\nfrom edge.cli import main\nsys.exit(main(['run', '--config', {config!r}]))\n"
)


class UnitDaemon(DaemonProcess):
    """`doorstep run` under the unit's restrictions (tests/pi/sandbox.py's command)."""

    def terminate(self, timeout: float = 10) -> int:
        assert self.process is not None
        self.process.kill()  # unshare waits out a SIGTERM; --kill-child ends the daemon with it
        return self.process.wait(timeout=timeout)


def pi_device(folder: Path, cloud_keys, mosquitto, under_unit: bool) -> DeviceUnderTest:
    extra = (
        f'[owner]\nunlock_code_hash = "{hash_code(CODE)}"\n'
        "[delivery]\nunlock_timeout_s = 3\n[video]\npre_s = 1\npost_s = 1\nfps = 10\n"
        "width = 320\nheight = 240\n"
    )
    device = DeviceUnderTest(folder, cloud_keys, mosquitto, Setup(extra_config=extra))
    config = device.config.read_text(encoding="utf-8")
    device.config.write_text(config.replace('backend = "sim"', 'backend = "pi"\ngpio_chip = 0'))
    tree = device_tree(folder / "tree")
    data = str(folder / "data")
    if under_unit:
        state = folder / "state"
        state.mkdir()
        script = UNDER_UNIT.format(data=data, config=str(device.config))
        command = sandbox.under_unit_command(script, state, device_tree=tree)
        device.daemon = UnitDaemon(device.config, device.log_path, command=command)
        return device
    site = folder / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITE.format(data=data, tree=str(tree)), "utf-8")
    (folder / "lgpio").mkdir()
    device.daemon = DaemonProcess(
        device.config,
        device.log_path,
        env={"PYTHONPATH": f"{site}:{ROOT}", "LG_WD": str(folder / "lgpio")},
    )
    return device


@pytest.mark.parametrize("under_unit", [False, True], ids=["as-is", "under-the-unit"])
def test_an_owner_unlock_on_the_pi_path_is_filmed_by_picamera2s_encoder(
    tmp_path: Path, cloud_keys, mosquitto, under_unit: bool
) -> None:
    if under_unit and sandbox.available() is not None:
        pytest.skip(f"unit sandbox: {sandbox.available()}")
    device = pi_device(tmp_path / "pi", cloud_keys, mosquitto, under_unit)
    try:
        device.start(timeout=60)
        device.cloud.publish("owner/lock", f'{{"action": "UNLOCK", "code": "{CODE}"}}')
        device.cloud.wait_event("owner.unlocked", timeout=30)  # a fresh picamera2 frame first
        device.cloud.wait_event("owner.relocked", timeout=30)
        clip = device.cloud.wait_event("owner.clip", timeout=30)
        data = device.cloud.wait_for(lambda got: got.clip(clip["clip_id"]), what="every chunk")
        log = device.daemon.log_text()
    finally:
        device.stop()
    assert "event=video_in_software" in log  # no /dev/video11 here: libx264, said once
    with av.open(io.BytesIO(data), "r") as container:
        frames = list(container.decode(video=0))
    assert (frames[0].width, frames[0].height) == (320, 240)  # the camera's small stream
    assert len(frames) >= 10 and not clip["camera_fault"]
