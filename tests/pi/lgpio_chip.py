"""lgpio's C extension (`_lgpio`) replaced by one simulated gpiochip, and nothing else: the real
lgpio Python module and the real gpiozero run above it, so what they ask of the kernel is what
this records. Each line's history is the level it was claimed or driven at, in order, with
"input" where it was given up as a floating input and "free" where it was freed.

Run in a child process (``run_on_chip``): importing lgpio makes its notify FIFO in the working
directory, and lgpio changes the process's working directory when LG_WD is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

GPIO_IS_OUT = 1 << 1
REVISION_PI4 = 0xC03111  # a Raspberry Pi 4 Model B


class SimulatedChip:
    def __init__(self) -> None:
        self.mode: dict[int, str] = {}
        self.level: dict[int, int] = {}
        self.history: dict[int, list[Any]] = defaultdict(list)
        self.closed = False

    def _gpiochip_open(self, chip: int) -> int:
        return 0

    def _gpiochip_close(self, handle: int) -> int:
        self.closed = True
        return 0

    def _gpio_claim_output(self, handle: int, flags: int, gpio: int, level: int) -> int:
        self.mode[gpio], self.level[gpio] = "output", level
        self.history[gpio].append(level)
        return 0

    def _gpio_claim_input(self, handle: int, flags: int, gpio: int) -> int:
        self.mode[gpio] = "input"
        self.history[gpio].append("input")
        return 0

    def _gpio_free(self, handle: int, gpio: int) -> int:
        self.mode.pop(gpio, None)
        self.history[gpio].append("free")
        return 0

    def _gpio_write(self, handle: int, gpio: int, level: int) -> int:
        if self.mode.get(gpio) == "output":
            self.level[gpio] = level
            self.history[gpio].append(level)
        return 0

    def _gpio_read(self, handle: int, gpio: int) -> int:
        return self.level.get(gpio, 1)  # an input reads its pull-up

    def _gpio_get_mode(self, handle: int, gpio: int) -> int:
        return GPIO_IS_OUT if self.mode.get(gpio) == "output" else 0

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("_gpio_", "_tx_")):  # alerts, debounce, watchdogs: accepted
            return lambda *args: 0
        raise AttributeError(name)

    def report(self) -> dict[str, Any]:
        return {
            "history": {str(k): v for k, v in self.history.items()},
            "mode": {str(k): v for k, v in self.mode.items()},
            "closed": self.closed,
        }


def install() -> SimulatedChip:
    """Import the real lgpio (its notify FIFO goes to the working directory) and put the
    simulated chip where its C extension was."""
    import lgpio  # noqa: PLC0415 - only here: importing it makes a FIFO in the cwd

    chip = SimulatedChip()
    lgpio._lgpio = chip
    return chip


def device_tree(folder: Path, revision: int = REVISION_PI4) -> Path:
    """A device tree as sysfs shows it, holding the board's revision."""
    (folder / "system").mkdir(parents=True, exist_ok=True)
    (folder / "system" / "linux,revision").write_bytes(revision.to_bytes(4, "big"))
    return folder


def run_on_chip(script: str, cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``script`` in a child Python with the simulated chip installed as ``chip``; the
    chip's report is what the child prints last."""
    program = (
        "from tests.pi.lgpio_chip import install\nchip = install()\n"
        + script
        + "\nimport json\nprint(json.dumps(chip.report()))\n"
    )
    root = Path(__file__).parents[2]
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(root), **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
