"""gpiozero on lgpio, made to hold a door lock on a Raspberry Pi (read against gpiozero 2.0.1 and
lgpio 0.2.2; the README's Pi section says why each part is here).

- lgpio makes a notify FIFO in its working directory when it is imported; under the service's
  read-only root it cannot, and the GPIO never opens. ``edge.hardware.backends`` points it
  (``LG_WD``) at a folder it can write before this module imports it.
- gpiozero reads the board's revision from /proc/device-tree or /proc/cpuinfo, which the
  unit's ``ProcSubset=pid`` hides: ``pi_revision`` reads the device tree where sysfs shows it.
- gpiozero's lgpio pin claims a line as an input (floating) when it is made, then an output
  at level 0 before it writes the wanted level: a low-trigger relay board sees an energise
  pulse at every start. ``SafeLGPIOPin`` claims an output at its first level at once, and on
  close leaves an output driven where it is (lgpio would let it float) for the supervisor's
  ``doorstep relay-off`` to hold locked.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from gpiozero.pins.lgpio import LGPIOFactory, LGPIOPin
from gpiozero.pins.local import get_pi_revision

import edge.hardware


def pi_revision(device_tree: Path | None = None) -> int:
    """The board's revision code: from sysfs's device tree (visible under ProcSubset=pid),
    else as gpiozero finds it (/proc)."""
    try:
        tree = device_tree or edge.hardware.DEVICE_TREE
        raw = (tree / "system" / "linux,revision").read_bytes()[:4]
    except OSError:
        return int(get_pi_revision())
    revision: int = struct.unpack(">L", raw)[0]
    return revision & 0xFFFF if f"{revision:x}".startswith("100") else revision  # overvolted


class SafeLGPIOPin(LGPIOPin):  # type: ignore[misc]
    """An lgpio pin that never passes through a level it was not asked for."""

    def __init__(self, factory: Any, info: Any) -> None:
        # LGPIOPin's own __init__ claims the line as a floating input; every device sets the
        # function it needs, so the line is left as it was until then.
        super(LGPIOPin, self).__init__(factory, info)
        self._pwm = None
        self._bounce = None
        self._callback = None
        self._edges = self.GPIO_EDGES["both"]

    def output_with_state(self, state: bool) -> None:
        """Claim the line as an output already at ``state``: no pulse through level 0."""
        import lgpio  # noqa: PLC0415 - imported by gpiozero's lgpio pins already

        lgpio.gpio_claim_output(self.factory._handle, self._number, int(bool(state)))

    def close(self) -> None:
        """An output stays driven at its level; only an input is given back."""
        if self.factory._handle is not None and self.function == "output":
            return
        super().close()


def relay_off(pin: int, active_high: bool, factory: Any) -> None:
    """Drive the lock relay de-energised (locked) and keep it so: nothing is closed, so the
    line stays an output at that level when this process ends (the Raspberry Pi kernel's
    pinctrl keeps a freed output's level: its `persist_gpio_outputs`, on by default).
    Needs no broker, database or camera: systemd runs it after every stop (ExecStopPost)."""
    from gpiozero import OutputDevice  # noqa: PLC0415

    OutputDevice(pin, active_high=active_high, initial_value=False, pin_factory=factory)


class DoorLGPIOFactory(LGPIOFactory):  # type: ignore[misc]
    def __init__(self, chip: int | None, device_tree: Path | None = None) -> None:
        self._device_tree = device_tree
        super().__init__(chip=chip)
        self.pin_class = SafeLGPIOPin

    def _get_revision(self) -> int:
        return pi_revision(self._device_tree)
