"""`doorstep doctor` on the sim backend: everything ok, then each failure explained with a fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from edge.ops.doctor import service_checks
from edge.store.db import open_store
from edge.store.outbox import Outbox
from simulator.daemon import DaemonProcess, write_sim_config
from tests.waiting import wait_until


def doctor(config: Path) -> tuple[int, dict[str, str]]:
    result = subprocess.run(
        [sys.executable, "-m", "edge", "doctor", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if line.strip()}
    return result.returncode, lines


def config_for(tmp_path: Path, cloud_keys, port: int, data_dir: Path | None = None) -> Path:
    return write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-1",
        port=port,
        trusted_key=cloud_keys.public,
        data_dir=data_dir or tmp_path / "data",
    )


def test_all_ok_against_a_live_broker(tmp_path: Path, cloud_keys, mosquitto) -> None:
    status, lines = doctor(config_for(tmp_path, cloud_keys, mosquitto.port))
    assert status == 0, lines
    assert set(lines) == {
        "config",
        "keys",
        "data",
        "gpio",
        "camera",
        "clips",
        "clock",
        "broker",
        "outbox",
    }
    assert all(line.startswith("ok ") for line in lines.values()), lines
    assert "H.264 encoder ready: 320x240 at 5 fps" in lines["clips"]


def test_the_live_view_is_checked_when_it_is_on(tmp_path: Path, cloud_keys, mosquitto) -> None:
    secret = tmp_path / "live-password"
    secret.write_text("s3cret\n")
    config = write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-1",
        port=mosquitto.port,
        trusted_key=cloud_keys.public,
        data_dir=tmp_path / "data",
        extra=f'[live]\nenabled = true\nusername = "viewer"\npassword_file = "{secret}"\n',
    )
    status, lines = doctor(config)
    assert status == 0, lines
    assert lines["live"].startswith("ok") and "rtsp://0.0.0.0:8554/doorstep" in lines["live"]


def test_an_unreachable_broker_and_an_unwritable_data_dir_fail_with_a_fix(
    tmp_path: Path, cloud_keys
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    status, lines = doctor(config_for(tmp_path, cloud_keys, port=1, data_dir=blocker))
    assert status == 1
    assert lines["broker"].startswith("FAIL") and "refused: nothing accepts" in lines["broker"]
    assert "-> is the broker running? check mqtt.host and mqtt.port" in lines["broker"]
    assert lines["data"].startswith("FAIL") and "-> create it writable" in lines["data"]


def test_a_stale_outbox_is_a_warning_only(tmp_path: Path, cloud_keys, mosquitto) -> None:
    db = open_store(tmp_path / "data")
    outbox = Outbox(db)
    for _ in range(101):
        outbox.add_event("t", lambda seq: b"{}")
    db.close()
    status, lines = doctor(config_for(tmp_path, cloud_keys, mosquitto.port))
    assert status == 0
    assert lines["outbox"].startswith("warn") and "101 waiting" in lines["outbox"]


def test_an_unusable_config_is_named(tmp_path: Path, cloud_keys) -> None:
    path = write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-1",
        port=1,
        trusted_key=cloud_keys.public,
        data_dir=tmp_path,
        extra="[hardware.pins]\ndoorbell = 17\n",
    )
    status, lines = doctor(path)
    assert status == 2
    assert "hardware.pins: Value error, a GPIO pin is used twice" in lines["config"]


def test_outbox_status_command(tmp_path: Path, cloud_keys) -> None:
    config = config_for(tmp_path, cloud_keys, port=1)
    command = [sys.executable, "-m", "edge", "outbox", "--config", str(config)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and "empty" in first.stdout
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"x" * 2048)
    db = open_store(tmp_path / "data")
    outbox = Outbox(db)
    outbox.add_file("t/photo", photo)
    outbox.add_event("t/events", lambda seq: b"y" * 1024)
    db.close()
    second = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert "2 waiting (1 photos, 3.0 KiB), oldest" in second.stdout


def test_the_pins_of_a_running_doorstep_are_left_alone(
    tmp_path: Path, cloud_keys, mosquitto
) -> None:
    """The service runs: doctor says so instead of opening its relay, and creates nothing."""
    config = config_for(tmp_path, cloud_keys, mosquitto.port)
    daemon = DaemonProcess(config, tmp_path / "daemon.log").start()
    try:
        claimed = tmp_path / "data" / "doorstep.pid"
        wait_until(
            lambda: claimed.exists() and claimed.read_text(encoding="ascii").strip(),
            "the daemon to claim its data dir",
        )
        status, lines = doctor(config)
        assert status == 0, lines
        assert lines["gpio"].startswith("warn")
        assert daemon.process is not None
        assert f"not checked: doorstep (pid {daemon.process.pid}) is running" in lines["gpio"]
        assert "camera" not in lines and lines["clock"].startswith("ok")  # the clock still is
    finally:
        daemon.terminate()


def test_doctor_leaves_no_file_in_a_data_dir_no_daemon_has_used(
    tmp_path: Path, cloud_keys, mosquitto
) -> None:
    (tmp_path / "data").mkdir()
    doctor(config_for(tmp_path, cloud_keys, mosquitto.port))
    assert not (tmp_path / "data" / "doorstep.pid").exists()


SHIPPED_UNIT = Path(__file__).parents[2] / "systemd" / "doorstep.service"
UNIT_BEFORE = Path(__file__).parents[1] / "pi" / "unit-before-issue-22.service"


def test_doctor_names_each_setting_of_an_old_unit_that_stops_the_service(tmp_path: Path) -> None:
    # The unit doorstep shipped before issue 22: doctor, outside its sandbox, said all ok.
    checks = service_checks(
        UNIT_BEFORE, timesync_flag=tmp_path / "no-flag", device_tree=tmp_path / "no-tree"
    )
    failed = " ".join(check.detail for check in checks if check.status == "FAIL")
    for setting in ("ExecStopPost=", "ProtectClock=/SystemCallFilter=", "ProcSubset=pid"):
        assert setting in failed, failed
    assert any("WorkingDirectory=" in c.detail for c in checks if c.status == "warn")


def test_doctor_passes_the_shipped_unit_on_a_pi_with_timesyncd(tmp_path: Path) -> None:
    flag = tmp_path / "synchronized"
    flag.touch()
    tree = tmp_path / "tree"
    (tree / "system").mkdir(parents=True)
    checks = service_checks(SHIPPED_UNIT, timesync_flag=flag, device_tree=tree)
    assert [check.status for check in checks] == ["ok"], checks
    # With chrony instead, the clock is the one thing it names.
    [clock] = service_checks(SHIPPED_UNIT, timesync_flag=tmp_path / "none", device_tree=tree)
    assert clock.status == "FAIL" and "clock_unsynced" in clock.detail and "chrony" in clock.fix


def test_doctor_reads_the_installed_unit(tmp_path: Path, cloud_keys, mosquitto) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge",
            "doctor",
            "--config",
            str(config_for(tmp_path, cloud_keys, mosquitto.port)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DOORSTEP_UNIT": str(UNIT_BEFORE)},
    )
    assert result.returncode == 1
    assert "FAIL  service" in result.stdout and "ExecStopPost=" in result.stdout


def test_doctor_reads_the_syscall_filter_by_systemds_own_groups(tmp_path: Path) -> None:
    # @system-service alone leaves adjtimex out: an allow-list refuses it without any `~`.
    tree = tmp_path / "tree"
    (tree / "system").mkdir(parents=True)
    unit = tmp_path / "plain.service"
    unit.write_text(
        "[Service]\nExecStopPost=/x relay-off\nWorkingDirectory=/var/lib/doorstep\n"
        "SystemCallFilter=@system-service\n"
    )
    [clock] = service_checks(unit, timesync_flag=tmp_path / "none", device_tree=tree)
    assert clock.status == "FAIL" and "adjtimex" in clock.detail
    unit.write_text(unit.read_text() + "SystemCallFilter=adjtimex\n")  # the chrony drop-in
    assert [
        c.status for c in service_checks(unit, timesync_flag=tmp_path / "none", device_tree=tree)
    ] == ["ok"]
