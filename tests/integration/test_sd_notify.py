"""sd_notify against a real datagram socket: READY once the lock is locked and the core loop
runs, STATUS, and WATCHDOG pings that stop when the core loop is stuck."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

from edge.app import run
from edge.config import load_config
from edge.journal.systemd import Notifier, StatusLine, Watchdog
from simulator.cloud import mint
from simulator.daemon import write_sim_config
from simulator.receiver import CloudReceiver
from tests.inprocess import in_process


def test_notifier_speaks_the_datagram_protocol(notify_socket) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": notify_socket.path, "WATCHDOG_USEC": "2000000"})
    notifier.ready("locked")
    assert notify_socket.next() == "READY=1\nSTATUS=locked"
    assert notifier.watchdog_interval_s == 1.0
    ticks = iter([0.0, 0.5, 1.0])
    watchdog = Watchdog(notifier, clock=lambda: next(ticks))
    watchdog.beat(), watchdog.beat(), watchdog.beat()
    assert [notify_socket.next(), notify_socket.next()] == ["WATCHDOG=1", "WATCHDOG=1"]
    assert notify_socket.silent_for(0.2, "WATCHDOG=1")


def test_abstract_namespace_and_no_socket() -> None:
    name = f"doorstep-test-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(5)
        Notifier({"NOTIFY_SOCKET": "@" + name}).status("hello")
        assert listener.recv(100) == b"STATUS=hello"
    Notifier({}).ready("nobody listens")  # outside systemd: nothing, no error
    other_pid = Notifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert other_pid.watchdog_interval_s is None


def test_the_daemon_reports_ready_and_pings_only_while_its_loop_runs(
    tmp_path: Path, cloud_keys, mosquitto, notify_socket, monkeypatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.path)
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # a ping every 0.2 s
    config = load_config(
        write_sim_config(
            tmp_path / "doorstep.toml",
            device_id="porch-wd",
            port=mosquitto.port,
            trusted_key=cloud_keys.public,
            data_dir=tmp_path / "data",
            protocol="5",
            extra="[delivery]\nin_home_enabled = true\n",
        )
    )
    stop, started = threading.Event(), list[Any]()
    daemon = threading.Thread(target=run, args=(config, stop, started.append), daemon=True)
    cloud = CloudReceiver(mosquitto.host, mosquitto.port, "doorstep", "porch-wd")
    daemon.start()
    release = threading.Event()
    try:
        notify_socket.wait_for("READY=1")
        assert any(line.startswith("STATUS=locked") for line in notify_socket.lines())
        notify_socket.wait_for("WATCHDOG=1")
        notify_socket.wait_for(f"STATUS=online via 127.0.0.1:{mosquitto.port}")
        cloud.wait_availability("online")

        # A GPIO call that hangs: the core loop is stuck, so the pings must stop.
        lock = started[0].lock
        real_drive = lock.drive
        stalled = threading.Event()
        lock.drive = lambda locked: (stalled.set(), release.wait(30), real_drive(locked))

        def send(cmd):
            return cloud.publish(
                f"cmd/{cmd}",
                mint(
                    cloud_keys.private, cmd, device_id="porch-wd", delivery_id="D-1", mode="in_home"
                ),
            )

        send("arriving")
        cloud.wait_event("delivery.arriving")
        send("at_door")
        assert stalled.wait(10)
        notify_socket.drain()  # pings sent before the stall
        assert notify_socket.silent_for(1.5, "WATCHDOG=1"), "pinged while the loop was stuck"
        release.set()
        notify_socket.history.clear()
        notify_socket.wait_for("WATCHDOG=1")
    finally:
        release.set()
        stop.set()
        daemon.join(timeout=10)
        cloud.close()
    notify_socket.wait_for("STOPPING=1")


def test_the_status_line_names_a_dead_camera_until_it_works_again(
    tmp_path: Path, cloud_keys, mosquitto, notify_socket, monkeypatch
) -> None:
    """`systemctl status doorstep` shows what stops deliveries, not only the broker."""
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.path)
    online = f"STATUS=online via 127.0.0.1:{mosquitto.port}"
    with in_process(tmp_path, cloud_keys, mosquitto, "porch-st") as daemon:
        notify_socket.wait_for(online)
        daemon.cloud.publish("sim/camera", "fail")
        notify_socket.wait_for(
            f"{online}; camera fault: in-home deliveries and owner unlocks are refused"
        )
        notify_socket.history.clear()
        daemon.cloud.publish("sim/camera", "ok")
        notify_socket.wait_for(online)


def test_what_the_state_shows_failing_joins_the_status_line_after_the_link(notify_socket) -> None:
    status = StatusLine(Notifier({"NOTIFY_SOCKET": notify_socket.path}), "locked; connecting")
    state = {"lock": "locked", "door": "closed", "camera": "ok", "clock": "synced", "storage": "ok"}
    status.shown(json.dumps(state).encode())
    assert notify_socket.silent_for(0.2, "STATUS=locked; connecting")  # nothing failing yet
    status.shown(json.dumps({**state, "lock": "jammed", "clock": "unsynced"}).encode())
    assert notify_socket.next() == (
        "STATUS=locked; connecting; lock jammed: the door may be "
        "unlocked; re-driven until it reads locked; clock not "
        "synchronised: every pass is refused"
    )
    status.link("online via b:1883")
    assert notify_socket.next().startswith("STATUS=online via b:1883; lock jammed")
    status.shown(json.dumps({**state, "storage": "full"}).encode())
    assert notify_socket.next() == (
        "STATUS=online via b:1883; storage full: free space on the data dir's disk"
    )
    status.shown(json.dumps({**state, "storage": "full"}).encode())  # the same: not sent again
    status.shown(json.dumps(state).encode())
    assert notify_socket.next() == "STATUS=online via b:1883"
    assert status.line == "online via b:1883"
