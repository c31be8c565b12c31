"""A real mosquitto per test session, on a free loopback port, with a config we write."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from simulator.broker import free_port
from tests.certs import Authority

SHIPPED = Path(__file__).parents[1] / "firmware_config" / "mosquitto"


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(found).exists():
        raise RuntimeError("mosquitto is not installed: run `make test`, which installs it")
    return found


class Mosquitto:
    """``config``, when given, replaces the plain loopback listener (it may use {port})."""

    def __init__(self, folder: Path, config: str | None = None, persistent: bool = False,
                 port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.folder = folder
        self.config = config
        self.persistent = persistent  # sessions and queued messages survive a restart
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10) -> "Mosquitto":
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "mosquitto.conf"
        listener = (self.config.replace("{port}", str(self.port)) if self.config
                    else f"listener {self.port} {self.host}\nallow_anonymous true\n")
        # As root, mosquitto would drop to its own user and could not save its database in
        # our root-owned folder, and sessions would silently not survive a restart.
        persistence = (f"user root\npersistence true\npersistence_location {self.folder}/\n"
                       if self.persistent else "persistence false\n")
        conf.write_text(f"{listener}\n{persistence}set_tcp_nodelay true\nlog_dest stderr\n",
                        encoding="utf-8")
        log = open(self.folder / "mosquitto.log", "ab")
        self.process = subprocess.Popen([mosquitto_binary(), "-c", str(conf)], stdout=log,
                                        stderr=subprocess.STDOUT)
        log.close()
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


def tls_broker(folder: Path, ca: Authority, cert: Path, key: Path) -> Mosquitto:
    """mosquitto running the shipped TLS listener and ACL, with certificates made by a test."""
    text = ((SHIPPED / "doorstep-tls.conf").read_text()
            .replace("listener 8883", "listener {port} 127.0.0.1")
            .replace("/etc/mosquitto/certs/ca.pem", str(ca.ca_file))
            .replace("/etc/mosquitto/certs/server.crt", str(cert))
            .replace("/etc/mosquitto/certs/server.key", str(key))
            .replace("/etc/mosquitto/doorstep.acl", str(SHIPPED / "doorstep.acl")))
    return Mosquitto(folder, "user root\n" + text).start()
