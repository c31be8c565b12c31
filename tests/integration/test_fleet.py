"""The fleet against a real mosquitto: every delivery completes, every event is checked against
the contract, nothing announced is lost; devices share nothing; and the cloud's count of what
was lost can see a gap."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import MQTTProtocolVersion

from edge.loop.inbox import Inbound
from simulator.cloud import mint
from simulator.fleet.couriers import Couriers
from simulator.fleet.device import FleetDevice
from simulator.fleet.run import FleetOptions, run_fleet
from tests.brokers import Mosquitto
from tests.certs import Authority

LINE = re.compile(
    r"^fleet: devices=(\d+) deliveries=(\d+) rate=[\d.]+/s "
    r"unlock_p50_ms=[\d.]+ unlock_p99_ms=[\d.]+ lost=(\d+)$"
)


def test_a_small_fleet_delivers_everything_and_loses_nothing(mosquitto, tmp_path: Path) -> None:
    result = run_fleet(
        FleetOptions(
            devices=40,
            rate=20,
            duration=2,
            host=mosquitto.host,
            port=mosquitto.port,
            check_contract=True,
        ),
        progress=None,
        json_out=tmp_path / "fleet.json",
    )
    assert (result.online, result.failed, result.timed_out, result.breaches) == (40, 0, 0, 0), (
        result.failures
    )
    assert result.deliveries == 40 and result.lost == 0  # 20/s for 2 s
    assert result.events == 40 * 10 and result.photos == 40 * 2  # door open, confirmation
    assert (
        LINE.match(result.line())
        and json.loads((tmp_path / "fleet.json").read_text())["line"] == result.line()
    )


def test_doorstep_sim_fleet_ends_with_its_line_and_json(mosquitto, tmp_path: Path) -> None:
    out = tmp_path / "fleet.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator.cli",
            "fleet",
            "--devices",
            "5",
            "--rate",
            "5",
            "--duration",
            "1",
            "--host",
            mosquitto.host,
            "--port",
            str(mosquitto.port),
            "--protocol",
            "3.1.1",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    last = run.stdout.strip().splitlines()[-1]
    assert LINE.match(last) and LINE.match(last).group(1) == "5"  # type: ignore[union-attr]
    assert json.loads(out.read_text())["lost"] == 0
    assert "online 5/5" in run.stderr  # the progress line


def test_devices_share_nothing(tmp_path: Path) -> None:
    cloud = Ed25519PrivateKey.generate()
    a, b = (
        FleetDevice(
            name,
            tmp_path / name,
            cloud.public_key(),
            prefix="doorstep",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        for name in ("fleet-a", "fleet-b")
    )
    for device in (a, b):
        device.start()
    token = mint(cloud, "arriving", device_id="fleet-a", delivery_id="D-1", mode="in_home")
    b.give(Inbound("cmd", "arriving", token.encode()))
    a.give(Inbound("cmd", "arriving", token.encode()))
    assert [d.id for d in a.core.state.deliveries] == ["D-1"] and not b.core.state.deliveries
    keys = [(tmp_path / name / "device_key.pem").read_bytes() for name in ("fleet-a", "fleet-b")]
    assert keys[0] != keys[1]
    a.give(Inbound("cmd", "arriving", token.encode()))  # replayed on a: only a's store knows it
    token_b = mint(cloud, "arriving", device_id="fleet-b", delivery_id="D-1", mode="in_home")
    b.give(Inbound("cmd", "arriving", token_b.encode()))
    assert [d.id for d in b.core.state.deliveries] == ["D-1"]


def test_the_count_of_lost_sees_a_missing_event_and_a_missing_photo() -> None:
    cloud = Couriers(Ed25519PrivateKey.generate(), "doorstep", MQTTProtocolVersion.MQTTv5)
    for seq in (1, 2, 4):  # 3 never came
        cloud.receive(
            "doorstep/fleet-a/events",
            json.dumps({"seq": seq, "type": "doorbell.pressed", "delivery_id": None}).encode(),
        )
    for photo_id in ("p1", "p2"):
        cloud.receive(
            "doorstep/fleet-a/events",
            json.dumps(
                {
                    "seq": 4 + int(photo_id[1]),
                    "type": "delivery.photo",
                    "delivery_id": "D-1",
                    "photo_id": photo_id,
                    "sha256": hashlib.sha256(b"jpeg").hexdigest(),
                }
            ).encode(),
        )
    cloud.receive("doorstep/fleet-a/photos/D-1/p1", b"jpeg")
    assert cloud.lost() == (1, 1) and not cloud.settled()
    cloud.receive("doorstep/fleet-a/photos/D-1/p2", b"other bytes")
    assert cloud.lost() == (1, 1)  # came, but not the announced picture


def test_a_fleet_over_mutual_tls(tmp_path: Path) -> None:
    """TLS on the shared network loop: decrypted bytes waiting in a socket's buffer are read."""
    ca = Authority(tmp_path / "ca", "fleet-ca")
    server, server_key = ca.issue("server", server=True)
    client, client_key = ca.issue("fleet")
    broker = Mosquitto(
        tmp_path / "broker",
        (
            f"user root\nlistener {{port}} 127.0.0.1\ncafile {ca.ca_file}\ncertfile {server}\n"
            f"keyfile {server_key}\nrequire_certificate true\nuse_identity_as_username true\n"
            "allow_anonymous false\n"
        ),
    ).start()
    try:
        result = run_fleet(
            FleetOptions(
                devices=10,
                rate=10,
                duration=1,
                host="localhost",
                port=broker.port,
                ca_file=ca.ca_file,
                cert_file=client,
                key_file=client_key,
            ),
            progress=None,
        )
    finally:
        broker.stop()
    assert (result.online, result.deliveries, result.failed, result.lost) == (10, 10, 0, 0)
