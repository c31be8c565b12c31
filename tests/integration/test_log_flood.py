"""The journal under a flood of what the device cannot use: a complaint that repeats is said
once a minute with a count, so the lines that matter are not buried."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from edge.app import run
from edge.config import load_config
from simulator.daemon import write_sim_config
from simulator.receiver import CloudReceiver


def test_a_flood_on_an_unexpected_topic_is_one_line(tmp_path: Path, cloud_keys, mosquitto,
                                                    caplog) -> None:
    caplog.set_level(logging.INFO)
    config = load_config(write_sim_config(
        tmp_path / "doorstep.toml", device_id="porch-fl", port=mosquitto.port,
        trusted_key=cloud_keys.public, data_dir=tmp_path / "data", protocol="5"))
    stop = threading.Event()
    daemon = threading.Thread(target=run, args=(config, stop), daemon=True)
    cloud = CloudReceiver(mosquitto.host, mosquitto.port, "doorstep", "porch-fl")
    daemon.start()
    try:
        cloud.wait_availability("online")
        for _ in range(200):  # `cmd/#` also matches `cmd` itself: no command can be there
            cloud.publish("cmd", "junk")
        cloud.publish("cmd/bogus", "after the flood")  # in order on one connection: a marker
        cloud.wait_event("command.rejected", cmd="bogus")
    finally:
        stop.set()
        daemon.join(timeout=10)
        cloud.close()
    said = [r.getMessage() for r in caplog.records if "event=unexpected_topic" in r.getMessage()]
    assert said == ["event=unexpected_topic topic=doorstep/porch-fl/cmd count=1"]
