"""A really full disk (a small tmpfs): relocking never waits on it, the state says so, the
daemon keeps running, and it recovers once there is room again."""

from __future__ import annotations

import errno
import logging
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.app import run
from edge.cli import main
from edge.config import load_config
from simulator.cloud import mint
from simulator.daemon import write_sim_config
from simulator.receiver import CloudReceiver
from tests.waiting import wait_until

IN_HOME = "[delivery]\nin_home_enabled = true\nrelock_delay_s = 0.2\nlock_verify_s = 1\n"


def mounted(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path):
    yield from mounted(tmp_path / "disk", "4m")


@pytest.fixture
def roomy_disk(tmp_path: Path):
    """Room enough for doorstep to keep its reserve (8 MiB free at least)."""
    yield from mounted(tmp_path / "disk", "16m")


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:  # unbuffered: closing it cannot fail too
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_a_full_disk_never_stops_relocking(
    small_disk: Path, tmp_path: Path, cloud_keys, mosquitto, caplog
) -> None:
    caplog.set_level(logging.INFO)
    config = load_config(
        write_sim_config(
            tmp_path / "doorstep.toml",
            device_id="porch-disk",
            port=mosquitto.port,
            trusted_key=cloud_keys.public,
            data_dir=small_disk / "data",
            protocol="5",
            extra=IN_HOME,
        )
    )
    cloud = CloudReceiver(mosquitto.host, mosquitto.port, "doorstep", "porch-disk")
    stop, started = threading.Event(), list[Any]()
    daemon = threading.Thread(target=run, args=(config, stop, started.append), daemon=True)
    daemon.start()
    try:
        cloud.wait_availability("online")

        def send(cmd, delivery):
            return cloud.publish(
                f"cmd/{cmd}",
                mint(
                    cloud_keys.private,
                    cmd,
                    device_id="porch-disk",
                    delivery_id=delivery,
                    mode="in_home",
                ),
            )

        send("arriving", "D-1")
        send("at_door", "D-1")
        cloud.wait_state(lock="unlocked")
        world, relay = started[0].world, started[0].world.relay_pin
        world.apply("door", "open")
        cloud.wait_event("delivery.photo", delivery_id="D-1")

        filler = fill(small_disk)
        world.apply("door", "close")  # relock, verify, then a confirmation photo with no room
        wait_until(lambda: relay.state == 0, "the relay to relock on a full disk")
        cloud.wait_state(lock="locked", storage="full", delivery=None)
        assert daemon.is_alive()

        filler.unlink()  # room again: a new delivery works, and the queued events go out
        send("arriving", "D-2")
        # What the full disk could not take was kept: D-1 is told delivered, as it was (it
        # used to be lost, then reported interrupted), and the log names the real error.
        assert cloud.wait_event("delivery.completed", delivery_id="D-1")["outcome"] == "delivered"
        assert "no transaction is active" not in caplog.text
        send("at_door", "D-2")
        cloud.wait_state(lock="unlocked")
        fill(small_disk)
        send("cancel", "D-2")  # its jti may not be recordable now: it must relock all the same
        wait_until(lambda: relay.state == 0, "the relay to relock after a cancel on a full disk")
        cloud.wait_state(lock="locked")
        assert daemon.is_alive()
    finally:
        stop.set()
        daemon.join(timeout=10)
        cloud.close()


def test_a_start_on_a_full_disk_says_the_disk_is_full(
    small_disk: Path, tmp_path: Path, cloud_keys, capsys
) -> None:
    """SQLite cannot open its write-ahead log on a disk with no room at all, so the daemon
    cannot start (its supervisor tries again, and the lock stays unpowered, that is locked):
    the one line must say the disk is full, not blame the folder's permissions."""
    config = write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-full",
        port=1,
        trusted_key=cloud_keys.public,
        data_dir=small_disk / "data",
    )
    fill(small_disk)
    assert main(["run", "--config", str(config)]) == 1
    said = capsys.readouterr().err
    assert said.startswith("doorstep: cannot start: ") and said.count("\n") == 1, said
    assert f"the disk that holds {small_disk / 'data'} is full: free space on it" in said


def test_a_restart_on_a_disk_that_filled_up_gives_back_the_reserve_and_runs(
    roomy_disk: Path, tmp_path: Path, cloud_keys, mosquitto, caplog
) -> None:
    """The first run keeps 1 MiB in the data dir; the disk fills up while doorstep is stopped;
    the next start gives the reserve back, runs with the lock locked and says what to do."""
    caplog.set_level(logging.INFO)
    config = load_config(
        write_sim_config(
            tmp_path / "doorstep.toml",
            device_id="porch-reserve",
            port=mosquitto.port,
            trusted_key=cloud_keys.public,
            data_dir=roomy_disk / "data",
            protocol="5",
            extra=IN_HOME,
        )
    )
    reserve = roomy_disk / "data" / "reserve"
    cloud = CloudReceiver(mosquitto.host, mosquitto.port, "doorstep", "porch-reserve")
    try:
        for attempt in ("first start", "start on a full disk"):
            if attempt == "start on a full disk":
                fill(roomy_disk)
            stop, started = threading.Event(), list[Any]()
            daemon = threading.Thread(target=run, args=(config, stop, started.append), daemon=True)
            daemon.start()
            try:
                cloud.wait_availability("online")
                cloud.wait_state(lock="locked")
                assert started[0].world.relay_pin.state == 0
                if attempt == "first start":
                    wait_until(reserve.exists, "the reserve to be made")
            finally:
                stop.set()
                daemon.join(timeout=10)
            cloud.forget()
        assert not reserve.exists()
        said = [
            r.getMessage() for r in caplog.records if "event=reserve_released" in r.getMessage()
        ]
        assert len(said) == 1 and 'fix="free space on the disk that holds the data dir' in said[0]
    finally:
        cloud.close()
