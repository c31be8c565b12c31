"""The Home Assistant discovery message (docs/protocol.md §8), built by a pure function: one
device-based message, one component per entity, with Home Assistant's abbreviations."""

from __future__ import annotations

import json
import re

import pytest

from edge.config import Config
from edge.contract.topics import Topics
from edge.crypto.owner_code import hash_code
from edge.transport.homeassistant import discovery, discovery_payload, discovery_topic

BASE = "doorstep/porch-1"


def config(**sections: dict) -> Config:
    return Config.model_validate(
        {"device_id": "porch-1", "security": {"trusted_keys": ["k.pem"]}, **sections}
    )


@pytest.fixture
def message() -> dict:
    return discovery(
        config(homeassistant={"enabled": True, "name": "Front door"}), Topics("doorstep", "porch-1")
    )


def test_one_device_message_at_the_device_topic(message: dict) -> None:
    assert discovery_topic(config()) == "homeassistant/device/doorstep_porch-1/config"
    assert message["dev"]["ids"] == ["doorstep_porch-1"] and message["dev"]["name"] == "Front door"
    assert message["o"]["name"] == "doorstep" and message["o"]["sw"] and message["o"]["url"]
    assert message["avty_t"] == f"{BASE}/availability"
    assert set(message["cmps"]) == {
        "lock",
        "door",
        "camera",
        "doorbell",
        "delivery",
        "in_home",
        "snapshot",
        "image",
        "last_delivery",
    }
    assert all(c["uniq_id"] == f"doorstep_porch-1_{name}" for name, c in message["cmps"].items())


def test_lock(message: dict) -> None:
    lock = message["cmps"]["lock"]
    assert (lock["p"], lock["stat_t"], lock["val_tpl"]) == (
        "lock",
        f"{BASE}/state",
        "{{ value_json.lock }}",
    )
    assert (lock["stat_locked"], lock["stat_unlocked"], lock["stat_jam"]) == (
        "locked",
        "unlocked",
        "jammed",
    )
    assert (lock["cmd_t"], lock["pl_lock"], lock["pl_unlk"]) == (
        f"{BASE}/owner/lock",
        "LOCK",
        "UNLOCK",
    )
    assert "code_format" not in lock  # no owner unlock configured: no code is asked


def test_the_lock_asks_a_code_only_to_unlock_when_owner_unlock_is_configured() -> None:
    lock = discovery(
        config(owner={"unlock_code_hash": hash_code("246810")}), Topics("doorstep", "porch-1")
    )["cmps"]["lock"]
    assert re.fullmatch(lock["code_format"], "") and re.fullmatch(lock["code_format"], "123456")
    assert not re.fullmatch(lock["code_format"], "12")
    rendered = lock["cmd_tpl"].replace("{{ value }}", "LOCK").replace("{{ code }}", "None")
    assert json.loads(rendered) == {"action": "LOCK", "code": "None"}  # which locks


def test_door_and_camera(message: dict) -> None:
    door, camera = message["cmps"]["door"], message["cmps"]["camera"]
    assert (door["p"], door["dev_cla"], door["pl_on"], door["pl_off"]) == (
        "binary_sensor",
        "door",
        "open",
        "closed",
    )
    assert (camera["p"], camera["dev_cla"]) == ("binary_sensor", "problem")
    assert "value_json.camera == 'ok'" in camera["val_tpl"]


def test_doorbell_and_delivery_events_read_the_events_topic(message: dict) -> None:
    doorbell, delivery = message["cmps"]["doorbell"], message["cmps"]["delivery"]
    assert (doorbell["p"], doorbell["dev_cla"], doorbell["evt_typ"]) == (
        "event",
        "doorbell",
        ["press", "ring"],
    )  # HA refuses a doorbell without `ring` (2027.4)
    assert doorbell["stat_t"] == delivery["stat_t"] == f"{BASE}/events"
    assert "doorbell.pressed" in doorbell["val_tpl"]
    assert set(delivery["evt_typ"]) == {
        "delivered",
        "not_entered",
        "cancelled",
        "expired",
        "interrupted",
        "aborted",
        "arriving",
        "unlocked",
    }
    assert "delivery.completed" in delivery["val_tpl"] and "{}" in delivery["val_tpl"]


def test_switch_button_image_and_sensor(message: dict) -> None:
    cmps = message["cmps"]
    assert (cmps["in_home"]["p"], cmps["in_home"]["cmd_t"]) == ("switch", f"{BASE}/owner/in_home")
    assert "in_home_enabled" in cmps["in_home"]["val_tpl"]
    assert (cmps["snapshot"]["p"], cmps["snapshot"]["cmd_t"], cmps["snapshot"]["pl_prs"]) == (
        "button",
        f"{BASE}/owner/snapshot",
        "PRESS",
    )
    assert (cmps["image"]["p"], cmps["image"]["img_t"], cmps["image"]["cont_type"]) == (
        "image",
        f"{BASE}/image/latest",
        "image/jpeg",
    )
    sensor = cmps["last_delivery"]
    assert (sensor["p"], sensor["stat_t"], sensor["json_attr_t"]) == (
        "sensor",
        f"{BASE}/last_delivery",
        f"{BASE}/last_delivery",
    )


def test_disabled_is_an_empty_message_which_removes_the_device() -> None:
    assert discovery_payload(config(), Topics("doorstep", "porch-1")) == b""
