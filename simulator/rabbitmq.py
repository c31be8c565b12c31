"""A two-node RabbitMQ cluster on this machine, with the MQTT plugin (MQTT 3.1.1), for running
the fleet and the daemon against a clustered broker: Debian's `rabbitmq-server` (3.10), each
node with its own ports, data and logs in a folder of ours, sharing an Erlang cookie made at
run time. The nodes run as the calling user (the /usr/sbin wrapper would switch to the
rabbitmq user, who cannot write our folder)."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from simulator.broker import free_port

BIN = Path("/usr/lib/rabbitmq/bin")


def installed() -> bool:
    return (BIN / "rabbitmq-server").exists()


@dataclass
class Node:
    name: str  # rabbitN@host
    mqtt_port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None


class RabbitCluster:
    def __init__(self, folder: Path, nodes: int = 2) -> None:
        self.folder = folder
        self.host = "127.0.0.1"
        short = socket.gethostname().split(".")[0]
        self.nodes = [
            Node(f"doorstep{n}@{short}", free_port(), folder / f"node{n}")
            for n in range(1, nodes + 1)
        ]

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Each node's MQTT listener."""
        return [(self.host, node.mqtt_port) for node in self.nodes]

    def start(self, timeout: float = 120) -> RabbitCluster:
        if not installed():
            raise RuntimeError(
                "rabbitmq-server is not installed (apt-get install "
                "rabbitmq-server; make fleet-cluster installs it)"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        cookie = self.folder / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(16), encoding="ascii")
            cookie.chmod(0o400)
        for node in self.nodes:
            self._launch(node)
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            while True:  # until the node has registered with epmd, rabbitmqctl cannot wait
                try:
                    self._ctl(node, "await_startup")
                    break
                except RuntimeError:
                    if time.monotonic() > deadline or (node.process and node.process.poll()):
                        raise
                    time.sleep(0.5)  # a node starting, bounded by the deadline
        first, *others = self.nodes
        for node in others:
            self._ctl(node, "stop_app")
            self._ctl(node, "join_cluster", first.name)
            self._ctl(node, "start_app")
        self._wait_for_listeners(timeout)
        return self

    def stop(self) -> None:
        for node in reversed(self.nodes):
            if node.process is not None and node.process.poll() is None:
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                    self._ctl(node, "stop", timeout=60)  # else terminate, below
                if node.process.poll() is None:
                    node.process.terminate()
                try:
                    node.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    node.process.kill()

    def _launch(self, node: Node) -> None:
        node.folder.mkdir(parents=True, exist_ok=True)
        (node.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = {free_port()}\n"
            f"mqtt.listeners.tcp.default = {node.mqtt_port}\n"
            "mqtt.allow_anonymous = true\nloopback_users = none\n",
            encoding="utf-8",
        )
        (node.folder / "enabled_plugins").write_text("[rabbitmq_mqtt].\n", encoding="utf-8")
        with open(node.folder / "server.log", "ab") as log:
            node.process = subprocess.Popen(
                [str(BIN / "rabbitmq-server")],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(node, RABBITMQ_DIST_PORT=str(free_port())),
            )

    def _env(self, node: Node, **more: str) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.folder),
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_CONFIG_FILE": str(node.folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(node.folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(node.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(node.folder / "log"),
            "RABBITMQ_PID_FILE": str(node.folder / "pid"),
            **more,
        }

    def _ctl(self, node: Node, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [str(BIN / "rabbitmqctl"), "-n", node.name, *args],
            env=self._env(node),
            capture_output=True,
            timeout=timeout + 30,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} on {node.name} failed: "
                f"{done.stderr.decode(errors='replace')[-400:]} "
                f"(logs in {node.folder})"
            )

    def _wait_for_listeners(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for host, port in self.addresses:
            while True:
                try:
                    with socket.create_connection((host, port), timeout=0.5):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"RabbitMQ's MQTT listener on {port} never opened "
                            f"(logs in {self.folder})"
                        ) from None
                    time.sleep(0.1)  # polling a port that is coming up, bounded by the deadline
