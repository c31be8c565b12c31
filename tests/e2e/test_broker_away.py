"""`doorstep run` with no broker to talk to says so, in its log and in systemd's STATUS line,
and says again when the broker is back."""

from __future__ import annotations

import time

from simulator.broker import free_port
from simulator.daemon import DaemonProcess, write_sim_config
from simulator.device import wait_log
from tests.brokers import Mosquitto


def test_the_daemon_says_why_it_is_offline_and_when_it_is_back(
    tmp_path, cloud_keys, notify_socket
) -> None:
    port = free_port()  # nothing listens here yet
    config = write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-away",
        port=port,
        trusted_key=cloud_keys.public,
        data_dir=tmp_path / "data",
        protocol="5",
    )
    daemon = DaemonProcess(
        config, tmp_path / "daemon.log", env={"NOTIFY_SOCKET": notify_socket.path}
    ).start()
    broker = Mosquitto(tmp_path / "broker", port=port)
    try:
        line = wait_log(daemon, "event=broker_unreachable")
        assert "level=WARNING" in line and "cause=refused" in line
        assert "is the broker running?" in line
        notify_socket.wait_for("READY=1")
        deadline = time.monotonic() + 10
        while not any("unreachable (refused" in m for m in notify_socket.lines()):
            notify_socket.next(max(0.01, deadline - time.monotonic()))

        broker.start()
        back = wait_log(daemon, "after_failures=")
        assert "event=mqtt_connected" in back and "offline_s=" in back
        notify_socket.wait_for(f"STATUS=online via 127.0.0.1:{port}")
        assert daemon.terminate() == 0
    finally:
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.kill()
        broker.stop()
