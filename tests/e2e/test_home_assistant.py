"""A real Home Assistant (from PyPI, headless) finds `doorstep run` by MQTT discovery and
drives it: the entities appear, show the device's state, and the switch, the button and the
lock's commands reach the door (`pytest -m slow`; the first run installs Home Assistant
2025.4.4 into .venv-ha with Python 3.13, which takes minutes).

Home Assistant is started with two files written before its first start (see NOTES): a
config entry for the MQTT integration, and a user with a long-lived token whose key we chose,
so the test can sign a bearer token for the REST API itself.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest

from edge.crypto.owner_code import hash_code
from simulator.broker import free_port

HA_VERSION = "2025.4.4"
HA_VENV = Path(__file__).parents[2] / ".venv-ha"
CODE = "246810"


def python_313() -> str | None:
    """A Python 3.13 that runs: pyenv's shim on PATH fails unless 3.13 is its chosen version,
    so pyenv's own installs are tried too."""
    found = [
        shutil.which("python3.13"),
        *map(str, sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))),
    ]
    for candidate in filter(None, found):
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    return None


def home_assistant_python() -> Path:
    python = HA_VENV / "bin" / "python"
    if (HA_VENV / "bin" / "hass").exists():
        return python
    base = python_313()
    if base is None:
        pytest.skip("Home Assistant needs Python 3.13, which this machine lacks")
    subprocess.run([base, "-m", "venv", str(HA_VENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"homeassistant=={HA_VERSION}",
            "paho-mqtt==2.1.0",
        ],
        check=True,
    )
    return python


def storage(key: str, data: dict[str, Any], minor: int = 1) -> str:
    return json.dumps({"version": 1, "minor_version": minor, "key": key, "data": data})


def write_home_assistant_config(
    folder: Path, broker_port: int, http_port: int, extra: str = ""
) -> str:
    """Configuration and storage for a first start (``extra``: more of configuration.yaml);
    returns a bearer token for the API."""
    (folder / ".storage").mkdir(parents=True)
    (folder / "configuration.yaml").write_text(
        f"http:\n  server_port: {http_port}\n  server_host: 127.0.0.1\napi:\n"
        "logger:\n  default: warning\n" + extra
    )
    now = datetime.now(UTC).isoformat()
    entry: dict[str, Any] = {
        "created_at": now,
        "modified_at": now,
        "data": {"broker": "127.0.0.1", "port": broker_port},
        "disabled_by": None,
        "discovery_keys": {},
        "domain": "mqtt",
        "entry_id": uuid.uuid4().hex,
        "minor_version": 1,
        "options": {},
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [],
        "title": "mosquitto",
        "unique_id": None,
        "version": 1,
    }
    (folder / ".storage" / "core.config_entries").write_text(
        storage("core.config_entries", {"entries": [entry]}, minor=5)
    )
    user_id, token_id, key = uuid.uuid4().hex, uuid.uuid4().hex, secrets.token_hex(32)
    auth = {
        "users": [
            {
                "id": user_id,
                "group_ids": ["system-admin"],
                "is_owner": True,
                "is_active": True,
                "name": "test",
                "system_generated": False,
                "local_only": False,
            }
        ],
        "groups": [{"id": "system-admin", "name": "Administrators"}],
        "credentials": [],
        "refresh_tokens": [
            {
                "id": token_id,
                "user_id": user_id,
                "client_id": None,
                "client_name": "doorstep test",
                "client_icon": None,
                "token_type": "long_lived_access_token",
                "created_at": now,
                "access_token_expiration": 3600 * 24,
                "token": secrets.token_hex(64),
                "jwt_key": key,
                "last_used_at": None,
                "last_used_ip": None,
                "expire_at": None,
                "version": HA_VERSION,
            }
        ],
    }
    (folder / ".storage" / "auth").write_text(storage("auth", auth))
    return jwt.encode(
        {"iss": token_id, "iat": int(time.time()), "exp": int(time.time()) + 3600},
        key,
        algorithm="HS256",
    )


class HomeAssistant:
    def __init__(self, port: int, token: str) -> None:
        self.base, self.token = f"http://127.0.0.1:{port}/api", token

    def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.base + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            text = answer.read().decode()
        return json.loads(text) if text.startswith(("{", "[")) else text

    def until(self, found, what: str, timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = found()
                if result:
                    return result
            except OSError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise AssertionError(f"Home Assistant: no {what} within {timeout} s")
            time.sleep(0.5)  # polling another process's HTTP API, bounded by the deadline

    def state(self, entity: str) -> str:
        return self.call(f"/states/{entity}")["state"]


@contextmanager
def running_home_assistant(
    tmp_path: Path, broker_port: int, extra: str = ""
) -> Iterator[HomeAssistant]:
    """Home Assistant from .venv-ha on the broker at ``broker_port``, its API up; its config in
    tmp_path/ha (``extra``: more of configuration.yaml), its log in tmp_path/ha.log. Stopped on
    the way out."""
    python = home_assistant_python()
    http_port = free_port()
    token = write_home_assistant_config(tmp_path / "ha", broker_port, http_port, extra)
    command = [str(python), "-m", "homeassistant", "-c", str(tmp_path / "ha")]
    with open(tmp_path / "ha.log", "wb") as log:
        hass = subprocess.Popen(
            [*command, "--skip-pip-packages", "mqtt"], stdout=log, stderr=subprocess.STDOUT
        )
        ha = HomeAssistant(http_port, token)
        try:
            ha.until(lambda: ha.call("/") == {"message": "API running."}, "API")
            yield ha
        finally:
            hass.terminate()
            hass.wait(timeout=60)


@pytest.mark.slow
def test_home_assistant_discovers_and_drives_the_doorbell(tmp_path, new_device, mosquitto) -> None:
    device = new_device(
        '[homeassistant]\nenabled = true\nname = "Front door"\n'
        f'[owner]\nunlock_code_hash = "{hash_code(CODE)}"\n'
        "[delivery]\nin_home_enabled = true\nunlock_timeout_s = 60\n"
    )
    with running_home_assistant(tmp_path, mosquitto.port) as ha:
        entities = ha.until(
            lambda: [
                e
                for e in ha.call(
                    "/template", {"template": "{{ integration_entities('mqtt') | list | tojson }}"}
                )
                if e.startswith(
                    ("lock.", "switch.", "button.", "image.", "event.", "sensor.", "binary_sensor.")
                )
            ],
            "discovered entities",
        )
        ha.until(
            lambda: (
                len(
                    ha.call(
                        "/template",
                        {"template": "{{ integration_entities('mqtt') | list | tojson }}"},
                    )
                )
                == 9
            ),
            "all nine entities",
        )
        kinds = {
            e.split(".")[0]: e
            for e in ha.call(
                "/template", {"template": "{{ integration_entities('mqtt') | list | tojson }}"}
            )
        }
        assert set(kinds) >= {
            "lock",
            "switch",
            "button",
            "image",
            "event",
            "sensor",
            "binary_sensor",
        }, entities
        lock, switch = kinds["lock"], kinds["switch"]
        every = ha.call(
            "/template", {"template": "{{ integration_entities('mqtt') | list | tojson }}"}
        )
        doorbell = next(
            e
            for e in every
            if e.startswith("event.")
            and ha.call(f"/states/{e}")["attributes"].get("device_class") == "doorbell"
        )
        attributes = ha.call(f"/states/{doorbell}")["attributes"]
        assert attributes["event_types"] == ["press", "ring"]  # ring: HA's, from 2027.4
        ha.until(lambda: ha.state(lock) == "locked", "lock state")
        device.sim("doorbell", "press")  # once HA follows the device's topics
        ha.until(
            lambda: ha.call(f"/states/{doorbell}")["attributes"].get("event_type") == "press",
            "the doorbell's press in Home Assistant",
        )
        ha.until(lambda: ha.state(switch) == "on", "in-home switch state")

        ha.call("/services/switch/turn_off", {"entity_id": switch})
        device.cloud.wait_state(in_home_enabled=False, timeout=30)
        ha.until(lambda: ha.state(switch) == "off", "the switch following the device")

        button = next(
            e
            for e in ha.call(
                "/template", {"template": "{{ integration_entities('mqtt') | list | tojson }}"}
            )
            if e.startswith("button.")
        )
        ha.call("/services/button/press", {"entity_id": button})
        device.cloud.wait_for(
            lambda got: got.retained.get("image/latest"), timeout=30, what="a snapshot on demand"
        )

        ha.call("/services/lock/unlock", {"entity_id": lock, "code": CODE})
        device.cloud.wait_event("owner.unlocked", timeout=30)
        ha.until(lambda: ha.state(lock) == "unlocked", "the lock unlocked")
        ha.call("/services/lock/lock", {"entity_id": lock})  # locking needs no code
        device.cloud.wait_event("owner.relocked", timeout=30)
        ha.until(lambda: ha.state(lock) == "locked", "the lock locked again")
        assert not device.events("command.rejected")
