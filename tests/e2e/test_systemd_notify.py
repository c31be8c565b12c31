"""`doorstep run` as systemd starts it: READY, STATUS and WATCHDOG reach a real notify socket."""

from __future__ import annotations


def test_ready_status_and_watchdog_during_a_run(new_device, notify_socket, mosquitto) -> None:
    device = new_device(start=False)
    device.daemon.env = {"NOTIFY_SOCKET": notify_socket.path, "WATCHDOG_USEC": "1000000"}
    device.start()
    notify_socket.wait_for("READY=1")
    notify_socket.wait_for(f"STATUS=online via 127.0.0.1:{mosquitto.port}")
    notify_socket.history.clear()
    notify_socket.wait_for("WATCHDOG=1")
    notify_socket.history.clear()
    notify_socket.wait_for("WATCHDOG=1")  # and again: the loop keeps pinging
    assert device.daemon.terminate(timeout=5) == 0
    notify_socket.wait_for("STOPPING=1")
