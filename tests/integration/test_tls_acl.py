"""The broker link over TLS, against mosquitto running the shipped doorstep-tls.conf and ACL,
with certificates made in the test: mutual TLS works, every bad certificate is refused, and a
device cannot read another device's commands."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import load_config
from edge.transport.mqtt import probe_broker
from simulator.daemon import DaemonProcess, write_sim_config
from simulator.receiver import CloudReceiver
from tests.brokers import tls_broker
from tests.certs import Authority

@pytest.fixture
def pki(tmp_path: Path) -> dict:
    ca, rogue = Authority(tmp_path / "ca", "doorstep-ca"), Authority(tmp_path / "rogue", "rogue")
    return {"ca": ca, "rogue": rogue, "server": ca.issue("server", server=True),
            "porch-1": ca.issue("porch-1"), "porch-2": ca.issue("porch-2"),
            "cloud": ca.issue("cloud")}


@pytest.fixture
def broker(tmp_path: Path, pki: dict):
    running = tls_broker(tmp_path / "broker", pki["ca"], *pki["server"])
    yield running
    running.stop()


def device_config(tmp_path: Path, cloud_keys, port: int, ca: Path, cert: Path, key: Path,
                  host: str = "localhost"):
    tls = f'\n[mqtt.tls]\nca_file = "{ca}"\ncert_file = "{cert}"\nkey_file = "{key}"\n'
    return write_sim_config(tmp_path / "doorstep.toml", device_id="porch-1", host=host,
                            port=port, trusted_key=cloud_keys.public, data_dir=tmp_path / "data",
                            protocol="5", extra=tls)


def test_a_device_with_a_good_certificate_works_end_to_end(tmp_path, cloud_keys, pki,
                                                           broker) -> None:
    config = device_config(tmp_path, cloud_keys, broker.port, pki["ca"].ca_file, *pki["porch-1"])
    cloud = CloudReceiver("localhost", broker.port, "doorstep", "porch-1", protocol="5",
                          tls=(str(pki["ca"].ca_file), *map(str, pki["cloud"])))
    daemon = DaemonProcess(config, tmp_path / "daemon.log").start()
    try:
        cloud.wait_availability("online", timeout=30)
        from simulator.cloud import mint

        cloud.publish("cmd/arriving", mint(cloud_keys.private, "arriving", device_id="porch-1",
                                           delivery_id="D-tls"))
        cloud.wait_event("delivery.arriving", delivery_id="D-tls")
        assert daemon.terminate() == 0
    finally:
        cloud.close()
        if daemon.process.poll() is None:
            daemon.kill()


@pytest.mark.parametrize("case", ["other_ca", "expired", "wrong_host", "client_other_ca"])
def test_bad_certificates_are_refused(tmp_path, cloud_keys, pki, case: str) -> None:
    ca, rogue = pki["ca"], pki["rogue"]
    server = {"other_ca": rogue.issue("server", server=True),
              "expired": ca.issue("old-server", server=True, expired=True)}.get(case, pki["server"])
    running = tls_broker(tmp_path / "broker", ca if case != "other_ca" else rogue, *server)
    try:
        client = rogue.issue("porch-1") if case == "client_other_ca" else pki["porch-1"]
        host = "127.0.0.1" if case == "wrong_host" else "localhost"
        config = load_config(device_config(tmp_path, cloud_keys, running.port, ca.ca_file,
                                           *client, host=host))
        problem = probe_broker(config, timeout=5)
        assert problem is not None, f"{case}: the connection was accepted"
        assert problem.cause == "tls", problem
        if case != "client_other_ca":  # the device itself refuses the server
            assert "certificate verify failed" in problem.detail, problem
    finally:
        running.stop()


def test_the_good_configuration_is_accepted_by_the_probe(tmp_path, cloud_keys, pki,
                                                         broker) -> None:
    config = load_config(device_config(tmp_path, cloud_keys, broker.port, pki["ca"].ca_file,
                                       *pki["porch-1"]))
    assert probe_broker(config) is None


def test_a_device_cannot_read_another_devices_commands(pki, broker) -> None:
    got: dict[str, list[str]] = {"porch-1": [], "porch-2": []}
    arrived = threading.Condition()

    def client_for(name: str, *topics: str) -> mqtt.Client:
        """A connected client whose subscriptions the broker has answered (SUBACK)."""
        subscribed = threading.Event()
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=name)
        client.tls_set(ca_certs=str(pki["ca"].ca_file), certfile=str(pki[name][0]),
                       keyfile=str(pki[name][1]))

        def message(c, userdata, msg) -> None:
            with arrived:
                got.setdefault(name, []).append(msg.topic)
                arrived.notify_all()
        client.on_message = message
        client.on_connect = lambda c, *a: (c.subscribe([(t, 1) for t in topics]) if topics
                                           else subscribed.set())
        client.on_subscribe = lambda *a: subscribed.set()
        client.connect("localhost", broker.port)
        client.loop_start()
        assert subscribed.wait(10), f"{name} not connected and subscribed"
        return client

    porch1 = client_for("porch-1", "doorstep/porch-1/cmd/#")
    porch2 = client_for("porch-2", "doorstep/porch-1/cmd/#", "doorstep/porch-2/cmd/#")
    cloud = client_for("cloud")
    try:
        cloud.publish("doorstep/porch-1/cmd/at_door", b"secret", qos=1).wait_for_publish(10)
        cloud.publish("doorstep/porch-2/cmd/at_door", b"mine", qos=1).wait_for_publish(10)
        with arrived:
            # porch-2's own command comes after porch-1's from the same sender, so once it is
            # here, porch-1's would have been too had the ACL let it through.
            assert arrived.wait_for(lambda: got["porch-1"] and got["porch-2"], timeout=10)
        assert got["porch-1"] == ["doorstep/porch-1/cmd/at_door"]
        assert got["porch-2"] == ["doorstep/porch-2/cmd/at_door"]
    finally:
        for client in (porch1, porch2, cloud):
            client.disconnect()
            client.loop_stop()
