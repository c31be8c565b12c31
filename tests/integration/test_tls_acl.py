"""The broker link over TLS, against mosquitto running the shipped doorstep-tls.conf and ACL,
with certificates made in the test: mutual TLS works, every bad certificate is refused, and a
device cannot read another device's commands."""

from __future__ import annotations

import contextlib
import io
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.cli import main
from edge.config import load_config
from edge.crypto.owner_code import hash_code
from edge.transport.mqtt import probe_broker
from simulator.cloud import mint
from simulator.daemon import DaemonProcess, write_sim_config
from simulator.receiver import Access, CloudReceiver
from tests.brokers import tls_broker
from tests.certs import Authority


@pytest.fixture
def pki(tmp_path: Path) -> dict:
    ca, rogue = Authority(tmp_path / "ca", "doorstep-ca"), Authority(tmp_path / "rogue", "rogue")
    return {
        "ca": ca,
        "rogue": rogue,
        "server": ca.issue("server", server=True),
        "porch-1": ca.issue("porch-1"),
        "porch-2": ca.issue("porch-2"),
        "cloud": ca.issue("cloud"),
        "owner.porch-1": ca.issue("owner.porch-1"),
        "owner.porch-2": ca.issue("owner.porch-2"),
    }


def owner_blocks(tmp_path: Path, cloud_keys) -> str:
    """What `doorstep broker-acl` prints for each of the two households."""
    printed = io.StringIO()
    for device_id in ("porch-1", "porch-2"):
        config = write_sim_config(
            tmp_path / f"{device_id}.toml",
            device_id=device_id,
            port=1,
            trusted_key=cloud_keys.public,
            data_dir=tmp_path / device_id,
        )
        with contextlib.redirect_stdout(printed):
            assert main(["broker-acl", "--config", str(config)]) == 0
    return printed.getvalue()


@pytest.fixture
def broker(tmp_path: Path, pki: dict, cloud_keys):
    running = tls_broker(
        tmp_path / "broker",
        pki["ca"],
        pki["server"][0],
        pki["server"][1],
        acl_extra=owner_blocks(tmp_path, cloud_keys),
    )
    yield running
    running.stop()


def device_config(
    tmp_path: Path, cloud_keys, port: int, ca: Path, cert: Path, key: Path, host: str = "localhost"
):
    tls = f'\n[mqtt.tls]\nca_file = "{ca}"\ncert_file = "{cert}"\nkey_file = "{key}"\n'
    return write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-1",
        host=host,
        port=port,
        trusted_key=cloud_keys.public,
        data_dir=tmp_path / "data",
        protocol="5",
        extra=tls,
    )


def tls_cloud(pki: dict, broker) -> CloudReceiver:
    """The cloud for porch-1, on the broker's TLS listener with its own certificate."""
    cert, key = pki["cloud"]
    return CloudReceiver(
        "localhost",
        broker.port,
        "doorstep",
        "porch-1",
        access=Access(protocol="5", tls=(str(pki["ca"].ca_file), str(cert), str(key))),
    )


def test_a_device_with_a_good_certificate_works_end_to_end(
    tmp_path, cloud_keys, pki, broker
) -> None:
    config = device_config(tmp_path, cloud_keys, broker.port, pki["ca"].ca_file, *pki["porch-1"])
    cloud = tls_cloud(pki, broker)
    daemon = DaemonProcess(config, tmp_path / "daemon.log").start()
    try:
        cloud.wait_availability("online", timeout=30)

        cloud.publish(
            "cmd/arriving",
            mint(cloud_keys.private, "arriving", device_id="porch-1", delivery_id="D-tls"),
        )
        cloud.wait_event("delivery.arriving", delivery_id="D-tls")
        assert daemon.terminate() == 0
    finally:
        cloud.close()
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.kill()


@pytest.mark.parametrize("case", ["other_ca", "expired", "wrong_host", "client_other_ca"])
def test_bad_certificates_are_refused(tmp_path, cloud_keys, pki, case: str) -> None:
    ca, rogue = pki["ca"], pki["rogue"]
    server = {
        "other_ca": rogue.issue("server", server=True),
        "expired": ca.issue("old-server", server=True, expired=True),
    }.get(case, pki["server"])
    running = tls_broker(tmp_path / "broker", ca if case != "other_ca" else rogue, *server)
    try:
        client = rogue.issue("porch-1") if case == "client_other_ca" else pki["porch-1"]
        host = "127.0.0.1" if case == "wrong_host" else "localhost"
        config = load_config(
            device_config(
                tmp_path, cloud_keys, running.port, ca.ca_file, client[0], client[1], host=host
            )
        )
        problem = probe_broker(config, timeout=5)
        assert problem is not None, f"{case}: the connection was accepted"
        assert problem.cause == "tls", problem
        if case != "client_other_ca":  # the device itself refuses the server
            assert "certificate verify failed" in problem.detail, problem
    finally:
        running.stop()


def test_the_good_configuration_is_accepted_by_the_probe(tmp_path, cloud_keys, pki, broker) -> None:
    config = load_config(
        device_config(tmp_path, cloud_keys, broker.port, pki["ca"].ca_file, *pki["porch-1"])
    )
    assert probe_broker(config) is None


class Clients:
    """Clients of the TLS broker, one per certificate, recording the topics they receive."""

    def __init__(self, pki: dict, broker) -> None:
        self.pki, self.broker = pki, broker
        self.got: dict[str, list[str]] = {}
        self.arrived = threading.Condition()
        self.made: list[mqtt.Client] = []

    def connect(self, name: str, *topics: str) -> mqtt.Client:
        """A connected client whose subscriptions the broker has answered (SUBACK)."""
        subscribed = threading.Event()
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=name)
        client.tls_set(
            ca_certs=str(self.pki["ca"].ca_file),
            certfile=str(self.pki[name][0]),
            keyfile=str(self.pki[name][1]),
        )

        def message(c, userdata, msg) -> None:
            with self.arrived:
                self.got.setdefault(name, []).append(msg.topic)
                self.arrived.notify_all()

        client.on_message = message
        client.on_connect = lambda c, *a: (
            c.subscribe([(t, 1) for t in topics]) if topics else subscribed.set()
        )
        client.on_subscribe = lambda *a: subscribed.set()
        client.connect("localhost", self.broker.port)
        client.loop_start()
        assert subscribed.wait(10), f"{name} not connected and subscribed"
        self.made.append(client)
        return client

    def wait(self, condition) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: condition(self.got), timeout=10)

    def close(self) -> None:
        for client in self.made:
            client.disconnect()
            client.loop_stop()


def test_a_device_cannot_read_another_devices_commands(pki, broker) -> None:
    clients = Clients(pki, broker)
    try:
        clients.connect("porch-1", "doorstep/porch-1/cmd/#")
        clients.connect("porch-2", "doorstep/porch-1/cmd/#", "doorstep/porch-2/cmd/#")
        cloud = clients.connect("cloud")
        cloud.publish("doorstep/porch-1/cmd/at_door", b"secret", qos=1).wait_for_publish(10)
        cloud.publish("doorstep/porch-2/cmd/at_door", b"mine", qos=1).wait_for_publish(10)
        # porch-2's own command comes after porch-1's from the same sender, so once it is
        # here, porch-1's would have been too had the ACL let it through.
        clients.wait(lambda got: got.get("porch-1") and got.get("porch-2"))
        assert clients.got["porch-1"] == ["doorstep/porch-1/cmd/at_door"]
        assert clients.got["porch-2"] == ["doorstep/porch-2/cmd/at_door"]
    finally:
        clients.close()


def test_home_assistant_sends_owner_commands_and_never_passes(pki, broker) -> None:
    clients = Clients(pki, broker)
    try:
        clients.connect("porch-1", "doorstep/porch-1/cmd/#", "doorstep/porch-1/owner/#")
        home, cloud = clients.connect("owner.porch-1"), clients.connect("cloud")
        home.publish("doorstep/porch-1/cmd/at_door", b"forged", qos=1).wait_for_publish(10)
        cloud.publish("doorstep/porch-1/owner/lock", b"UNLOCK", qos=1).wait_for_publish(10)
        home.publish("doorstep/porch-1/owner/lock", b"LOCK", qos=1).wait_for_publish(10)
        cloud.publish("doorstep/porch-1/cmd/done", b"pass", qos=1).wait_for_publish(10)
        clients.wait(lambda got: len(got.get("porch-1", [])) >= 2)
        assert sorted(clients.got["porch-1"]) == [
            "doorstep/porch-1/cmd/done",
            "doorstep/porch-1/owner/lock",
        ]
    finally:
        clients.close()


def test_a_device_announces_only_itself_to_home_assistant(pki, broker) -> None:
    clients = Clients(pki, broker)
    try:
        clients.connect("owner.porch-2", "homeassistant/#")
        porch2 = clients.connect("porch-2", "homeassistant/status")
        porch2.publish(
            "homeassistant/device/doorstep_porch-1/config", b"{}", qos=1, retain=True
        ).wait_for_publish(10)
        porch2.publish(
            "homeassistant/device/doorstep_porch-2/config", b"{}", qos=1, retain=True
        ).wait_for_publish(10)
        clients.connect("cloud").publish("homeassistant/status", b"online", qos=1).wait_for_publish(
            10
        )
        home = clients.made[0]
        home.publish("homeassistant/status", b"online", qos=1).wait_for_publish(10)
        clients.wait(
            lambda got: (
                "homeassistant/status" in got.get("porch-2", [])
                and any("doorstep_porch-2" in topic for topic in got.get("owner.porch-2", []))
            )
        )
        assert clients.got["porch-2"] == ["homeassistant/status"]  # Home Assistant's, once
        assert [t for t in clients.got["owner.porch-2"] if "/device/" in t] == [
            "homeassistant/device/doorstep_porch-2/config"
        ]
    finally:
        clients.close()


def test_one_households_owner_can_neither_read_nor_command_another_device(pki, broker) -> None:
    # The shared `homeassistant` login of the old ACL reached every door on the broker.
    clients = Clients(pki, broker)
    try:
        device_topics = ["doorstep/porch-1/owner/#", "doorstep/porch-2/owner/#"]
        clients.connect("porch-1", device_topics[0])
        clients.connect("porch-2", device_topics[1])
        for device in ("porch-1", "porch-2"):  # what each device announces, retained
            publisher = clients.made[0 if device == "porch-1" else 1]
            for name in ("state", "image/latest", "last_delivery"):
                publisher.publish(
                    f"doorstep/{device}/{name}", name.encode(), qos=1, retain=True
                ).wait_for_publish(10)
        owner_a = clients.connect(
            "owner.porch-1",
            "doorstep/+/state",
            "doorstep/+/image/latest",
            "doorstep/+/last_delivery",
            "doorstep/+/events",
        )
        refused = owner_a.publish(
            "doorstep/porch-2/owner/lock", b'{"action": "UNLOCK", "code": "123456"}', qos=1
        )
        refused.wait_for_publish(10)
        owner_a.publish("doorstep/porch-1/owner/lock", b"LOCK", qos=1).wait_for_publish(10)
        clients.made[1].publish("doorstep/porch-2/events", b"{}", qos=1).wait_for_publish(10)
        clients.made[0].publish("doorstep/porch-1/events", b"{}", qos=1).wait_for_publish(10)
        # porch-1's own lock and event come after porch-2's: once here, porch-2's would be too.
        clients.wait(
            lambda got: (
                "doorstep/porch-1/owner/lock" in got.get("porch-1", [])
                and "doorstep/porch-1/events" in got.get("owner.porch-1", [])
            )
        )
        assert "porch-2" not in clients.got  # no command reached device B
        assert sorted(clients.got["owner.porch-1"]) == [
            "doorstep/porch-1/events",
            "doorstep/porch-1/image/latest",
            "doorstep/porch-1/last_delivery",
            "doorstep/porch-1/state",
        ]
    finally:
        clients.close()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_a_retained_owner_unlock_never_opens_the_door_under_the_shipped_acl(
    tmp_path, cloud_keys, pki, broker, protocol: str
) -> None:
    # The household's own owner publishes it retained: the device rejects it stale at its
    # start and (the shipped ACL lets it write its own owner/#) clears it from the broker.

    tls = (
        f'\n[mqtt.tls]\nca_file = "{pki["ca"].ca_file}"\ncert_file = "{pki["porch-1"][0]}"\n'
        f'key_file = "{pki["porch-1"][1]}"\n[delivery]\nin_home_enabled = true\n'
        f'[owner]\nunlock_code_hash = "{hash_code("246810")}"\n'
    )
    config = write_sim_config(
        tmp_path / "doorstep.toml",
        device_id="porch-1",
        host="localhost",
        port=broker.port,
        trusted_key=cloud_keys.public,
        data_dir=tmp_path / "data",
        protocol=protocol,
        extra=tls,
    )
    clients = Clients(pki, broker)
    owner = clients.connect("owner.porch-1")
    owner.publish(
        "doorstep/porch-1/owner/lock", b'{"action": "UNLOCK", "code": "246810"}', qos=1, retain=True
    ).wait_for_publish(10)
    owner.disconnect()
    cloud = tls_cloud(pki, broker)
    daemon = DaemonProcess(config, tmp_path / "daemon.log").start()
    try:
        cloud.wait_availability("online", timeout=30)
        if protocol == "3.1.1":  # MQTT 5 asks the broker not to send it at all
            cloud.wait_event("command.rejected", reason="stale", cmd="owner/lock")
            # cleared: a new subscriber gets only the live LOCK below, no retained UNLOCK first
            # (watched with the device's own identity: only it may read its owner/#)
            watcher = clients.connect("porch-1", "doorstep/porch-1/owner/lock")
            watcher.publish("doorstep/porch-1/owner/lock", b"LOCK", qos=1).wait_for_publish(10)
            clients.wait(lambda got: got.get("porch-1"))
            assert clients.got["porch-1"] == ["doorstep/porch-1/owner/lock"]
        assert [e for e in cloud.received.events if e["type"] == "owner.unlocked"] == []
        assert cloud.wait_state()["lock"] == "locked"
        assert daemon.terminate() == 0
    finally:
        clients.close()
        cloud.close()
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.kill()
