"""Nothing is lost: events and photos wait on disk through broker restarts and daemon crashes,
and reach the cloud in order once the way is clear."""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path

import pytest

from simulator.cloud import mint
from simulator.daemon import DaemonProcess, write_sim_config
from simulator.receiver import Access, CloudReceiver
from tests.brokers import Mosquitto


def wait_for_log(daemon: DaemonProcess, text: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while text not in daemon.log_text():
        assert time.monotonic() < deadline, f"daemon never logged {text!r}"
        time.sleep(0.05)  # polling a log file, bounded by the deadline


def test_a_broker_restart_mid_delivery_loses_no_event(tmp_path: Path, cloud_keys) -> None:
    broker = Mosquitto(tmp_path / "broker", persistent=True).start()
    config = write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-r",
        port=broker.port,
        trusted_key=cloud_keys.public,
        data_dir=tmp_path / "data",
    )
    cloud = CloudReceiver(
        broker.host, broker.port, "doorstep", "porch-r", access=Access(session="cloud-r")
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log").start()
    try:
        cloud.wait_availability("online", timeout=30)

        def send(cmd, delivery, **kw):
            return cloud.publish(
                f"cmd/{cmd}",
                mint(cloud_keys.private, cmd, device_id="porch-r", delivery_id=delivery, **kw),
            )

        send("arriving", "D-1")
        send("arriving", "D-2", lifetime_s=3)
        send("at_door", "D-1")
        cloud.wait_event("delivery.photo", delivery_id="D-1")
        cloud.wait_event("delivery.arriving", delivery_id="D-2")

        broker.stop()
        wait_for_log(daemon, "event=mqtt_disconnected")
        wait_for_log(daemon, "event=delivery.completed")  # D-2 expires while the broker is gone
        broker.start()

        expired = cloud.wait_event("delivery.completed", delivery_id="D-2", timeout=60)
        assert expired["outcome"] == "expired"
        send("done", "D-1")
        cloud.wait_event("delivery.completed", delivery_id="D-1", timeout=30)
        seqs = [e["seq"] for e in cloud.received.events]
        assert sorted(set(seqs)) == list(range(1, max(seqs) + 1)), "a gap: an event was lost"
        first_seen = list(dict.fromkeys(seqs))
        assert first_seen == sorted(first_seen), "events arrived out of order"
    finally:
        cloud.close()
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.kill()
        broker.stop()


def test_kill_9_during_a_burst_of_photos_loses_none(tmp_path: Path, cloud_keys, mosquitto) -> None:
    kill_9_during_photo_bursts(tmp_path, cloud_keys, mosquitto, runs=20)


@pytest.mark.slow
def test_kill_9_during_a_burst_of_photos_many_times(tmp_path: Path, cloud_keys, mosquitto) -> None:
    kill_9_during_photo_bursts(tmp_path, cloud_keys, mosquitto, runs=150, seed=7)


def kill_9_during_photo_bursts(
    tmp_path: Path, cloud_keys, mosquitto, runs: int, seed: int = 20261128
) -> None:
    rng = random.Random(seed)
    config = write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-k",
        port=mosquitto.port,
        trusted_key=cloud_keys.public,
        data_dir=tmp_path / "data",
    )
    cloud = CloudReceiver(mosquitto.host, mosquitto.port, "doorstep", "porch-k")
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.start()
        cloud.wait_availability("online", timeout=30)
        cloud.publish(
            "cmd/arriving",
            mint(cloud_keys.private, "arriving", device_id="porch-k", delivery_id="D-burst"),
        )
        cloud.wait_event("delivery.arriving")
        for _run in range(runs):
            for _ in range(5):
                cloud.publish("sim/doorbell", "press")
            time.sleep(rng.uniform(0, 0.3))  # a random instant to crash at, not synchronisation
            daemon.kill()
            cloud.wait_availability("offline")
            daemon.start()
            cloud.wait_availability("online", timeout=30)
        # A last press after the final restart: its photo event is queued behind everything
        # still on disk, so once it is here, all earlier photos have been sent.
        before = len(cloud.received.events)
        cloud.publish("sim/doorbell", "press")
        marker = cloud.wait_for(
            lambda got: next(
                (e for e in got.events[before:] if e["type"] == "doorbell.pressed"), None
            ),
            timeout=60,
            what="the marker press",
        )
        cloud.wait_for(lambda got: marker["photo_id"] in got.photos, what="the marker photo")
        photos = [e for e in cloud.received.events if e["type"] == "delivery.photo"]
        assert len({p["photo_id"] for p in photos}) >= runs  # many photos survived the crashes
        for photo in photos:
            data = cloud.received.photos.get(photo["photo_id"])
            assert data is not None, f"photo {photo['photo_id']} was announced but never arrived"
            assert hashlib.sha256(data).hexdigest() == photo["sha256"]
    finally:
        cloud.close()
        if daemon.process and daemon.process.poll() is None:
            daemon.kill()
