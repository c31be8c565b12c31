"""A real mosquitto on a free loopback port, with a config we write: the scenarios' and the
fleet's broker, and the test suite's."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from simulator.broker import free_port


def _binary() -> Path:
    return Path(shutil.which("mosquitto") or "/usr/sbin/mosquitto")


def installed() -> bool:
    return _binary().exists()


def mosquitto_binary() -> str:
    if not installed():
        raise RuntimeError(
            "mosquitto is not installed (apt-get install mosquitto; make test installs it)"
        )
    return str(_binary())


class Mosquitto:
    """``config``, when given, replaces the plain loopback listener (it may use {port})."""

    def __init__(
        self,
        folder: Path,
        config: str | None = None,
        persistent: bool = False,
        port: int | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.folder = folder
        self.config = config
        self.persistent = persistent  # sessions and queued messages survive a restart
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10) -> Mosquitto:
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "mosquitto.conf"
        listener = (
            self.config.replace("{port}", str(self.port))
            if self.config
            else f"listener {self.port} {self.host}\nallow_anonymous true\n"
        )
        # As root, mosquitto would drop to its own user and could not save its database in
        # our root-owned folder, and sessions would silently not survive a restart.
        persistence = (
            f"user root\npersistence true\npersistence_location {self.folder}/\n"
            if self.persistent
            else "persistence false\n"
        )
        conf.write_text(
            f"{listener}\n{persistence}set_tcp_nodelay true\nlog_dest stderr\n", encoding="utf-8"
        )
        with open(self.folder / "mosquitto.log", "ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(
                [mosquitto_binary(), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not start: see {self.folder}") from None
                time.sleep(0.05)  # polling a port that is coming up, bounded by the deadline

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
