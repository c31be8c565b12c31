"""A full photo quota mid-delivery, with the broker gone so every photo is still waiting: the
daemon raises the alarm, keeps running, relocks, and evicts no photo that was not yet sent."""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Any

from edge.app import run
from edge.config import load_config
from simulator.cloud import mint
from simulator.daemon import write_sim_config
from simulator.receiver import Access, CloudReceiver
from tests.brokers import Mosquitto
from tests.waiting import wait_until

SETTINGS = """
[delivery]
in_home_enabled = true
relock_delay_s = 0.2
lock_verify_s = 1
photo_interval_s = 0.2
"""


def test_full_quota_alarms_relocks_and_keeps_waiting_photos(
    tmp_path: Path, cloud_keys, caplog
) -> None:
    caplog.set_level(logging.INFO)
    broker = Mosquitto(tmp_path / "broker", persistent=True).start()
    config = load_config(
        write_sim_config(
            tmp_path / "doorstep.toml",
            device_id="porch-full",
            port=broker.port,
            trusted_key=cloud_keys.public,
            data_dir=tmp_path / "data",
            extra=SETTINGS,
        )
    )
    # Room for two or three 640x480 photos ([storage] is already written by write_sim_config).
    config = config.model_copy(
        update={"storage": config.storage.model_copy(update={"photos_quota_mb": 0.05})}
    )
    cloud = CloudReceiver(
        broker.host, broker.port, "doorstep", "porch-full", access=Access(session="c-full")
    )
    stop, started = threading.Event(), list[Any]()
    daemon = threading.Thread(target=run, args=(config, stop, started.append), daemon=True)
    daemon.start()
    try:
        cloud.wait_availability("online", timeout=30)

        def send(cmd):
            return cloud.publish(
                f"cmd/{cmd}",
                mint(
                    cloud_keys.private,
                    cmd,
                    device_id="porch-full",
                    delivery_id="D-1",
                    mode="in_home",
                ),
            )

        send("arriving")
        send("at_door")
        cloud.wait_state(lock="unlocked")
        world, relay = started[0].world, started[0].world.relay_pin

        broker.stop()  # from here on every photo waits on disk
        world.apply("door", "open")
        wait_until(
            lambda: any("event=photo_not_stored" in r.message for r in caplog.records),
            "the quota to fill",
        )
        assert all(
            'fix="free space' in r.message
            for r in caplog.records
            if "event=photo_not_stored" in r.message
        )
        world.apply("door", "close")
        wait_until(lambda: relay.state == 0, "the relay to relock")
        wait_until(
            lambda: any("outcome=delivered" in r.message for r in caplog.records),
            "the delivery to finish",
        )
        assert daemon.is_alive()

        broker.start()
        alarm = cloud.wait_event("alarm.storage_full", timeout=60)
        assert alarm["area"] == "photos" and alarm["delivery_id"] == "D-1"
        completed = cloud.wait_event("delivery.completed", delivery_id="D-1", timeout=30)
        assert completed["outcome"] == "delivered" and completed["photos"]
        cloud.wait_for(
            lambda got: all(p in got.photos for p in completed["photos"]),
            timeout=30,
            what="every announced photo",
        )
        for event in (e for e in cloud.received.events if e["type"] == "delivery.photo"):
            data = cloud.received.photos[event["photo_id"]]
            assert hashlib.sha256(data).hexdigest() == event["sha256"]
        cloud.wait_state(lock="locked", storage="full")
    finally:
        stop.set()
        daemon.join(timeout=10)
        cloud.close()
        broker.stop()
