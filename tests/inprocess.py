"""`edge.app.run` on a thread of the test, so the test can reach the simulated hardware (the
relay's pin history, a camera frozen without telling anyone), with the cloud's receiver."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from edge.app import run
from edge.config import load_config
from simulator.cloud import mint
from simulator.daemon import write_sim_config
from simulator.receiver import CloudReceiver


class InProcessDaemon:
    def __init__(
        self, folder: Path, keys: Any, broker: Any, device_id: str, extra: str = ""
    ) -> None:
        self.device_id, self.keys = device_id, keys
        self.config = load_config(
            write_sim_config(
                folder / "doorstep.toml",
                device_id=device_id,
                port=broker.port,
                trusted_key=keys.public,
                data_dir=folder / "data",
                protocol="5",
                extra=extra,
            )
        )
        self._stop = threading.Event()
        self._hardware: list[Any] = []
        self._thread = threading.Thread(
            target=run, args=(self.config, self._stop, self._hardware.append), daemon=True
        )
        self.cloud = CloudReceiver(broker.host, broker.port, "doorstep", device_id)

    def __enter__(self) -> InProcessDaemon:
        self._thread.start()
        self.cloud.wait_availability("online")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.cloud.close()
        assert not self._thread.is_alive(), "the daemon did not stop"

    @property
    def hardware(self) -> Any:
        return self._hardware[0]

    def send(self, cmd: str, delivery_id: str = "D-1", **claims: Any) -> None:
        claims.setdefault("mode", "in_home")
        self.cloud.publish(
            f"cmd/{cmd}",
            mint(
                self.keys.private, cmd, device_id=self.device_id, delivery_id=delivery_id, **claims
            ),
        )
