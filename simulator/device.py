"""One simulated device as the cloud sees it: its config, its keys, its daemon and the cloud's
receiver. The scenario player, the end-to-end tests and the in-process tests all drive a
daemon through this one class, so they start, wait and stop it the same way.

The daemon runs as users start it (`doorstep run`, a process of its own) or, where a test must
reach the simulated hardware, on a thread of the caller (`in_process`)."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.app import run
from edge.config import load_config
from simulator.cloud import generate_keypair, load_private_key, mint
from simulator.daemon import DaemonProcess, write_sim_config
from simulator.receiver import Access, CloudReceiver


class CloudKeys:
    """The cloud's key pair, generated at run time; `public` is the PEM file a device trusts."""

    def __init__(self, folder: Path) -> None:
        private, self.public = generate_keypair(folder)
        self.private: Ed25519PrivateKey = load_private_key(private)


class Broker(Protocol):
    host: str
    port: int


@dataclass(frozen=True)
class Setup:
    """What a device under test is given beyond its folder, keys and broker."""

    device_id: str = "porch-1"
    prefix: str = "doorstep"
    protocol: str = "5"
    extra_config: str = ""
    mqtt_extra: str = ""  # more keys of [mqtt]
    more_keys: str = ""
    in_process: bool = False
    cloud: Access = field(default_factory=Access)
    on_event: Callable[[dict[str, Any]], None] | None = None


class Runner(Protocol):
    def start(self) -> object: ...
    def running(self) -> bool: ...
    def terminate(self, timeout: float = 10) -> int: ...
    def wait_exit(self, timeout: float) -> int: ...
    def kill(self) -> None: ...
    def log_text(self) -> str: ...


class DeviceUnderTest:
    """One daemon, its config and data folder, and the cloud's view of it."""

    def __init__(self, folder: Path, keys: CloudKeys, broker: Broker, setup: Setup = Setup()):
        self.device_id, self.keys, self.folder, self.setup = setup.device_id, keys, folder, setup
        self.config = write_sim_config(
            folder / "doorstep.toml",
            device_id=setup.device_id,
            host=broker.host,
            port=broker.port,
            trusted_key=keys.public,
            data_dir=folder / "data",
            prefix=setup.prefix,
            protocol=setup.protocol,
            extra=setup.extra_config,
            mqtt_extra=setup.mqtt_extra,
            more_keys=setup.more_keys,
        )
        self.cloud = CloudReceiver(
            getattr(broker, "cloud_host", broker.host),
            getattr(broker, "cloud_port", broker.port),
            setup.prefix,
            setup.device_id,
            access=setup.cloud,
            on_event=setup.on_event,
        )
        self.log_path = folder / "daemon.log"
        self.daemon: Runner = (
            InProcessDaemon(self.config)
            if setup.in_process
            else DaemonProcess(self.config, self.log_path)
        )

    # --- the daemon -----------------------------------------------------------------------

    def start(self, timeout: float = 30) -> DeviceUnderTest:
        """Start the daemon and wait until the cloud sees it come online (this time)."""
        seen = len(self.cloud.received.availability)
        self.daemon.start()
        try:
            self.cloud.wait_for(
                lambda got: "online" in got.availability[seen:], timeout, "the device online"
            )
        except TimeoutError:
            raise AssertionError(
                f"the daemon did not come online within {timeout:g} s; its log:\n"
                f"{self.daemon.log_text()}"
            ) from None
        return self

    def stop(self) -> int | None:
        """Stop the daemon if it runs (its exit status) and close the cloud's receiver."""
        status = self.daemon.terminate() if self.daemon.running() else None
        self.cloud.close()
        return status

    @property
    def process(self) -> subprocess.Popen[Any]:
        """The `doorstep run` process (not for an in-process daemon)."""
        assert isinstance(self.daemon, DaemonProcess) and self.daemon.process is not None
        return self.daemon.process

    @property
    def hardware(self) -> Any:
        """The simulated hardware of an in-process daemon."""
        assert isinstance(self.daemon, InProcessDaemon), "only an in-process daemon shares it"
        return self.daemon.hardware

    def wait_log(self, text: str, timeout: float = 20, count: int = 1) -> str:
        return wait_log(self.daemon, text, timeout, count)

    # --- the cloud ------------------------------------------------------------------------

    def mint(self, cmd: str, delivery_id: str = "D-1", **claims: Any) -> str:
        claims.setdefault("device_id", self.device_id)
        return mint(self.keys.private, cmd, delivery_id=delivery_id, **claims)

    def send(self, cmd: str, token: str | bytes) -> None:
        self.cloud.publish(f"cmd/{cmd}", token)

    def send_pass(self, cmd: str, delivery_id: str = "D-1", **claims: Any) -> str:
        """Mint a pass the cloud signs and send it; returns the token."""
        token = self.mint(cmd, delivery_id, **claims)
        self.send(cmd, token)
        return token

    def sim(self, name: str, payload: str) -> None:
        self.cloud.publish(f"sim/{name}", payload)

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.cloud.received.events if type_ is None or e["type"] == type_]

    def rejected(self, reason: str, **fields: Any) -> dict[str, Any]:
        return self.cloud.wait_event("command.rejected", reason=reason, **fields)

    def doorstep(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`doorstep ARGS --config` this device's config, as a homeowner runs it."""
        return subprocess.run(
            [sys.executable, "-m", "edge", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=60,
        )


def wait_log(daemon: Runner, text: str, timeout: float = 20, count: int = 1) -> str:
    """The first line of the daemon's log that contains ``text``, once it is there ``count``
    times, waiting up to ``timeout`` seconds for it."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in daemon.log_text().splitlines() if text in line]
        if len(found) >= count:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{text!r} is not {count} time(s) in the daemon's log:\n{daemon.log_text()}"
            )
        time.sleep(0.05)  # polling a log another thread or process writes, with a deadline


class InProcessDaemon:
    """`edge.app.run` on a thread, with its log lines kept, so a test reaches the simulated
    hardware (the relay's pin history, a camera frozen without telling anyone)."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hardware: list[Any] = []
        self._lines: list[str] = []
        self._handler = _Collect(self._lines)
        self._level = logging.NOTSET
        self._status: list[int] = []

    @property
    def hardware(self) -> Any:
        return self._hardware[0]

    def start(self) -> InProcessDaemon:
        edge_log = logging.getLogger("edge")
        self._level = edge_log.level
        edge_log.setLevel(min(edge_log.getEffectiveLevel(), logging.INFO))
        edge_log.addHandler(self._handler)
        self._stop.clear()
        config = load_config(self.config)
        self._thread = threading.Thread(
            target=lambda: self._status.append(run(config, self._stop, self._hardware.append)),
            daemon=True,
        )
        self._thread.start()
        return self

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def terminate(self, timeout: float = 10) -> int:
        assert self._thread is not None
        self._stop.set()
        try:
            return self.wait_exit(timeout)
        finally:
            edge_log = logging.getLogger("edge")
            edge_log.removeHandler(self._handler)
            edge_log.setLevel(self._level)

    def wait_exit(self, timeout: float) -> int:
        assert self._thread is not None
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the daemon did not stop"
        return self._status[-1]

    def kill(self) -> None:
        raise NotImplementedError("a thread cannot be killed; run the daemon as a process")

    def log_text(self) -> str:
        return "\n".join(self._lines)


class _Collect(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.INFO)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")
