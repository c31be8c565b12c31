"""A part of the daemon whose thread a bug ends (here the outbox pump's) does not leave a
device that has gone quiet: `doorstep run` says which part died and exits non-zero, so its
supervisor restarts it, locked first."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from edge.app import run
from edge.config import load_config
from edge.workers.pump import OutboxPump
from simulator.daemon import write_sim_config


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_part_whose_thread_dies_makes_the_daemon_exit_non_zero(
    tmp_path: Path, cloud_keys, mosquitto, monkeypatch, caplog
) -> None:
    def broken(self: OutboxPump) -> float:
        raise RuntimeError("a bug outside the pump's guarded step")

    monkeypatch.setattr(OutboxPump, "_next_look", broken)
    config = load_config(
        write_sim_config(
            tmp_path / "doorstep.toml",
            device_id="porch-died",
            port=mosquitto.port,
            trusted_key=cloud_keys.public,
            data_dir=tmp_path / "data",
            protocol="5",
        )
    )
    hardware: list = []
    status: list[int] = []
    daemon = threading.Thread(
        target=lambda: status.append(run(config, threading.Event(), hardware.append)), daemon=True
    )
    daemon.start()
    daemon.join(timeout=30)
    assert status == [1], "the daemon kept running without its pump"
    died = [r.getMessage() for r in caplog.records if "event=part_died" in r.getMessage()]
    assert died == [
        'event=part_died part="outbox pump" detail="exiting so the supervisor '
        'restarts doorstep, which drives the lock locked first"'
    ]
    assert hardware[0].world.relay_pin.state == 0  # left locked
