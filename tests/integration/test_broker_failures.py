"""A broker the link cannot use is never silent: each real failure (nothing listening, no DNS
name, a silent port, a certificate from another CA, a wrong password, an ACL that says no) is
logged with its own cause and fix, and the recovery says how long the device was away."""

from __future__ import annotations

import logging
import random
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from edge.config import load_config
from edge.contract.topics import Topics
from edge.transport.link_health import Backoff
from edge.transport.mqtt import LinkHooks, MqttLink, Retry, probe_broker
from simulator.broker import free_port
from simulator.daemon import write_sim_config
from tests.brokers import Mosquitto, tls_broker
from tests.certs import Authority

FAST = dict(first_s=0.05, cap_s=0.2)


class Link:
    """A real MqttLink with the daemon's settings plus ``extra`` TOML, and what it reported."""

    def __init__(
        self,
        tmp_path: Path,
        keys: Any,
        port: int,
        extra: str = "",
        host: str = "127.0.0.1",
        mqtt_extra: str = "",
        **options: Any,
    ) -> None:
        config = load_config(
            write_sim_config(
                tmp_path / "doorstep.toml",
                device_id="porch-1",
                host=host,
                port=port,
                trusted_key=keys.public,
                data_dir=tmp_path / "data",
                protocol="5",
                extra=extra,
                mqtt_extra=mqtt_extra,
            )
        )
        self.statuses: list[str] = []
        self.link = MqttLink(
            config.mqtt,
            Topics("doorstep", "porch-1"),
            client_id="doorstep-porch-1",
            hooks=LinkHooks(
                on_message=lambda *a: None, on_ack=lambda *a: None, on_status=self.statuses.append
            ),
            retry=Retry(backoff=Backoff(rng=random.Random(1), **FAST), **options),
        )

    def __enter__(self) -> Link:
        self.link.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.link.stop(timeout=2)


def wait_log(caplog: pytest.LogCaptureFixture, *parts: str, timeout: float = 15) -> str:
    """The first log line of the link containing every one of ``parts``."""
    deadline = time.monotonic() + timeout
    while True:
        for record in list(caplog.records):
            line = record.getMessage()
            if record.name == "edge.transport.mqtt" and all(p in line for p in parts):
                return line
        if time.monotonic() > deadline:
            lines = [r.getMessage() for r in caplog.records]
            raise AssertionError(f"no log line with {parts}; got {lines}")
        time.sleep(0.02)  # polling a list another thread appends to, bounded by the deadline


@pytest.fixture(autouse=True)
def _capture(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="edge.transport.mqtt")


def test_nothing_listening_is_refused(tmp_path, cloud_keys, caplog) -> None:
    with Link(tmp_path, cloud_keys, free_port()) as link:
        line = wait_log(caplog, "event=broker_unreachable", "cause=refused")
        assert 'fix="is the broker running? check mqtt.host and mqtt.port"' in line
        assert next(r for r in caplog.records if r.getMessage() == line).levelno == logging.WARNING
        wait_until(lambda: len(link.statuses) >= 3)
        assert sum("event=broker_unreachable" in r.getMessage() for r in caplog.records) == 1
        assert "unreachable (refused: nothing accepts connections" in link.statuses[-1]


def test_a_name_that_does_not_resolve_is_dns(tmp_path, cloud_keys, caplog) -> None:
    with Link(tmp_path, cloud_keys, 1883, host="doorstep-test.invalid"):
        line = wait_log(caplog, "event=broker_unreachable", "cause=dns")
        assert "doorstep-test.invalid" in line and "check mqtt.host" in line


def test_a_port_that_never_answers_is_a_timeout(tmp_path, cloud_keys, caplog) -> None:
    with socket.socket() as silent:  # accepts the TCP connection, never speaks MQTT
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        with Link(tmp_path, cloud_keys, silent.getsockname()[1], connect_timeout_s=0.5):
            line = wait_log(caplog, "event=broker_unreachable", "cause=timeout")
            assert "gave no MQTT answer within 0.5 s" in line


def test_a_broker_certificate_from_another_ca_is_a_tls_failure(
    tmp_path, cloud_keys, caplog
) -> None:
    ours, rogue = Authority(tmp_path / "ca", "ours"), Authority(tmp_path / "rogue", "rogue")
    broker = tls_broker(tmp_path / "broker", rogue, *rogue.issue("server", server=True))
    cert, key = ours.issue("porch-1")
    tls = f'[mqtt.tls]\nca_file = "{ours.ca_file}"\ncert_file = "{cert}"\nkey_file = "{key}"\n'
    try:
        with Link(tmp_path, cloud_keys, broker.port, tls, host="localhost"):
            line = wait_log(caplog, "event=broker_unreachable", "cause=tls")
            assert 'detail="certificate verify failed: ' in line
    finally:
        broker.stop()


@pytest.fixture
def password_broker(tmp_path: Path):
    passwords = tmp_path / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), "porch-1", "right"],
        check=True,
        capture_output=True,
    )
    acl = tmp_path / "acl"
    acl.write_text("user porch-1\ntopic read doorstep/porch-1/cmd/#\n")  # and nothing to write
    broker = Mosquitto(
        tmp_path / "broker",
        (
            f"user root\nlistener {{port}} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {passwords}\nacl_file {acl}\n"
        ),
    ).start()
    yield broker
    broker.stop()


def credentials(tmp_path: Path, password: str | None) -> str:
    if password is None:
        return ""
    (tmp_path / "mqtt-password").write_text(password)
    return 'username = "porch-1"\npassword_file = "mqtt-password"\n'


def test_a_wrong_password_is_told_apart_from_an_outage(
    tmp_path, cloud_keys, caplog, password_broker
) -> None:
    # mosquitto answers a wrong password "Not authorized" (0x87), not "Bad user name or
    # password": the cause is the broker's word, the fix names the password we sent.
    extra = credentials(tmp_path, "wrong")
    with Link(tmp_path, cloud_keys, password_broker.port, mqtt_extra=extra):
        line = wait_log(caplog, "event=broker_unreachable", "cause=not_authorised")
        assert 'fix="check mqtt.username and the password in mqtt.password_file' in line


def test_no_credentials_where_they_are_required_is_not_authorised(
    tmp_path, cloud_keys, caplog, password_broker
) -> None:
    with Link(tmp_path, cloud_keys, password_broker.port):
        line = wait_log(caplog, "event=broker_unreachable", "cause=not_authorised")
        assert "the broker requires a login" in line


def test_an_acl_that_refuses_the_devices_messages_says_so(
    tmp_path, cloud_keys, caplog, password_broker
) -> None:
    extra = credentials(tmp_path, "right")
    with Link(tmp_path, cloud_keys, password_broker.port, mqtt_extra=extra) as link:
        wait_until(lambda: link.link.online)
        link.link.set_state(b"{}")
        line = wait_log(caplog, "event=publish_refused", 'reason="Not authorized"')
        assert "the broker's ACL must let this device write its own topics" in line


def test_the_recovery_says_how_long_the_device_was_away(tmp_path, cloud_keys, caplog) -> None:
    port = free_port()
    with Link(tmp_path, cloud_keys, port) as link:
        wait_until(lambda: len(link.statuses) >= 3)  # three failed attempts
        broker = Mosquitto(tmp_path / "broker", port=port).start()
        try:
            line = wait_log(caplog, "event=mqtt_connected", "after_failures=")
            assert int(line.split("after_failures=")[1].split()[0]) >= 3
            assert "offline_s=" in line
            wait_until(lambda: link.statuses[-1] == f"online via 127.0.0.1:{port}")
        finally:
            broker.stop()


def wait_until(condition, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)  # bounded by the deadline


def test_doctor_names_a_refused_login_too(tmp_path, cloud_keys, password_broker) -> None:

    config = load_config(
        write_sim_config(
            tmp_path / "doorstep.toml",
            device_id="porch-1",
            port=password_broker.port,
            trusted_key=cloud_keys.public,
            data_dir=tmp_path / "data",
            protocol="5",
            mqtt_extra=credentials(tmp_path, "wrong"),
        )
    )
    problem = probe_broker(config)
    assert problem is not None and problem.cause == "not_authorised"
    assert "the password in mqtt.password_file" in problem.fix
