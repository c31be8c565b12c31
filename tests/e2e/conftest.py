"""`doorstep run` as a subprocess against the session's mosquitto, with a cloud receiver."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.cloud import mint
from simulator.daemon import DaemonProcess, write_sim_config
from simulator.receiver import CloudReceiver

_ids = itertools.count(1)


def wait_log(daemon: DaemonProcess, text: str, timeout: float = 20) -> str:
    """The first line of the daemon's log that contains ``text``, waiting for it."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in daemon.log_text().splitlines() if text in line]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in the daemon's log:\n{daemon.log_text()}")
        time.sleep(0.05)  # polling a file another process writes, bounded by the deadline


class Device:
    """One daemon, its config and data folder, and the cloud's view of it."""

    def __init__(
        self,
        folder: Path,
        keys: Any,
        broker: Any,
        extra_config: str = "",
        more_keys: str = "",
        protocol: str = "5",
    ) -> None:
        self.device_id = f"porch-{next(_ids)}"  # fresh retained topics for every test
        self.keys = keys
        self.folder = folder
        self.config = write_sim_config(
            folder / "doorstep.toml",
            device_id=self.device_id,
            port=broker.port,
            trusted_key=keys.public,
            data_dir=folder / "data",
            protocol=protocol,
            extra=extra_config,
            more_keys=more_keys,
        )
        self.cloud = CloudReceiver(
            getattr(broker, "cloud_host", broker.host),
            getattr(broker, "cloud_port", broker.port),
            "doorstep",
            self.device_id,
        )
        self.daemon = DaemonProcess(self.config, folder / "daemon.log")

    def start(self) -> Device:
        self.daemon.start()
        self.wait_online()
        return self

    def wait_online(self) -> None:
        try:
            self.cloud.wait_for(
                lambda got: got.availability[-1:] == ["online"], timeout=30, what="online"
            )
        except TimeoutError:
            raise AssertionError(f"daemon not online; log:\n{self.daemon.log_text()}") from None

    def mint(self, cmd: str, delivery_id: str = "D-1", **claims: Any) -> str:
        claims.setdefault("device_id", self.device_id)
        return mint(self.keys.private, cmd, delivery_id=delivery_id, **claims)

    def send(self, cmd: str, token: str | bytes) -> None:
        self.cloud.publish(f"cmd/{cmd}", token)

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

    def stop(self) -> None:
        process = self.daemon.process
        if process is not None and process.poll() is None:
            self.daemon.terminate()
        self.cloud.close()


@pytest.fixture
def new_device(tmp_path: Path, cloud_keys: Any, mosquitto: Any) -> Iterator[Any]:
    made: list[Device] = []

    def make(
        extra_config: str = "", start: bool = True, more_keys: str = "", protocol: str = "5"
    ) -> Device:
        device = Device(
            tmp_path / f"device{len(made)}",
            cloud_keys,
            mosquitto,
            extra_config,
            more_keys,
            protocol,
        )
        made.append(device)
        return device.start() if start else device

    yield make
    for device in made:
        device.stop()


@pytest.fixture
def device(new_device: Any) -> Device:
    return new_device()
