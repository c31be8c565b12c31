"""Start `doorstep run` as users do, as a separate process, with a config written for the
simulator. Used by the demo and by the end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

# A simulated run's clips: a short pre-roll and tail, so a test's delivery completes quickly,
# and small frames at a low rate, so many daemons under test share a machine (a config's own
# [video] table replaces this one; it comes last, so a test's extra keys without a table still
# land in [storage]).
SIM_VIDEO = """
[video]
pre_s = 2
post_s = 1
fps = 5
width = 320
height = 240
"""


def write_sim_config(  # noqa: PLR0913 - one keyword per config key a test may set
    path: Path,
    *,
    device_id: str,
    port: int,
    trusted_key: Path,
    data_dir: Path,
    host: str = "127.0.0.1",
    protocol: str = "3.1.1",
    prefix: str = "doorstep",
    extra: str = "",
    mqtt_extra: str = "",
    more_keys: str = "",
) -> Path:
    """A config for the sim backend; ``extra`` is appended TOML for a test's own keys,
    ``mqtt_extra`` goes into the [mqtt] table, and ``more_keys`` are more `trusted_keys`
    entries (TOML, after the cloud's key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""\
device_id = "{device_id}"

[mqtt]
host = "{host}"
port = {port}
topic_prefix = "{prefix}"
protocol = "{protocol}"
{mqtt_extra}
[security]
trusted_keys = ["{trusted_key}", {more_keys}]

[hardware]
backend = "sim"

[hardware.camera]
width = 640
height = 480

[storage]
data_dir = "{data_dir}"
{extra}{"" if "[video]" in extra else SIM_VIDEO}""",
        encoding="utf-8",
    )
    return path


class DaemonProcess:
    def __init__(
        self,
        config: Path,
        log_path: Path,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        """``command``: what starts it, when not `doorstep run` as users start it (a test's
        wrapper around it)."""
        self.config = config
        self.log_path = log_path
        self.env = env or {}
        self.command = command or [sys.executable, "-m", "edge", "run", "--config", str(config)]
        self.process: subprocess.Popen[Any] | None = None

    def start(self) -> DaemonProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the file
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self, timeout: float = 10) -> int:
        """SIGTERM and wait; returns the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def wait_exit(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")
