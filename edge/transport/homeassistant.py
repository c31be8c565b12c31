"""Home Assistant MQTT discovery (docs/protocol.md §8): ONE retained device-based message
(Home Assistant 2024.12 and newer) that makes the doorbell appear with its lock, door, camera,
doorbell and delivery events, in-home switch, snapshot button, latest image and last delivery.
Built by a pure function; the broker link publishes it on every connection and whenever Home
Assistant says it is back online.
"""

from __future__ import annotations

import json
from typing import Any

from edge import PROJECT_URL, __version__
from edge.config import Config
from edge.contract.topics import Topics
from edge.domain.model import Outcome

# An event entity reads the device's own `events` topic: this renders {"event_type": ...} for
# the events it shows and {} (ignored by Home Assistant) for every other.
DOORBELL_TEMPLATE = (
    '{% if value_json.type == \'doorbell.pressed\' %}{"event_type": "press"}{% else %}{}{% endif %}'
)
DELIVERY_TEMPLATE = (
    "{% if value_json.type == 'delivery.completed' %}"
    '{"event_type": "{{ value_json.outcome }}"}'
    '{% elif value_json.type == \'delivery.arriving\' %}{"event_type": "arriving"}'
    '{% elif value_json.type == \'delivery.unlocked\' %}{"event_type": "unlocked"}'
    "{% else %}{}{% endif %}"
)
# Locking never needs a code; a code is asked only to unlock, when owner unlock is configured.
CODE_FORMAT = r"^(\d{6,12})?$"


def discovery_topic(config: Config) -> str:
    ha = config.homeassistant
    return f"{ha.discovery_prefix}/device/doorstep_{config.device_id}/config"


def discovery(config: Config, topics: Topics) -> dict[str, Any]:
    device = f"doorstep_{config.device_id}"

    def component(name: str, platform: str, **options: Any) -> dict[str, Any]:
        return {
            "p": platform,
            "uniq_id": f"{device}_{name}",
            "name": name.replace("_", " ").capitalize(),
            **options,
        }

    lock = component(
        "lock",
        "lock",
        stat_t=topics.state,
        val_tpl="{{ value_json.lock }}",
        stat_locked="locked",
        stat_unlocked="unlocked",
        stat_jam="jammed",
        cmd_t=topics.owner_command("lock"),
        pl_lock="LOCK",
        pl_unlk="UNLOCK",
        cmd_tpl='{"action": "{{ value }}", "code": "{{ code }}"}',
    )
    if config.owner.unlock_code_hash is not None:
        lock["code_format"] = CODE_FORMAT
    return {
        "dev": {
            "ids": [device],
            "name": config.homeassistant.name or config.device_id,
            "mf": "doorstep",
            "mdl": "Delivery-aware doorbell",
            "sw": __version__,
        },
        "o": {"name": "doorstep", "sw": __version__, "url": PROJECT_URL},
        "avty_t": topics.availability,
        "qos": 1,
        "cmps": {
            "lock": lock,
            "door": component(
                "door",
                "binary_sensor",
                dev_cla="door",
                stat_t=topics.state,
                val_tpl="{{ value_json.door }}",
                pl_on="open",
                pl_off="closed",
            ),
            "camera": component(
                "camera",
                "binary_sensor",
                dev_cla="problem",
                stat_t=topics.state,
                val_tpl="{{ 'OFF' if value_json.camera == 'ok' else 'ON' }}",
            ),
            # `press` is the contract's (§8) and what a press fires; Home Assistant also wants a
            # doorbell to declare its standard `ring`, or refuses it from 2027.4.
            "doorbell": component(
                "doorbell",
                "event",
                dev_cla="doorbell",
                evt_typ=["press", "ring"],
                stat_t=topics.events,
                val_tpl=DOORBELL_TEMPLATE,
            ),
            "delivery": component(
                "delivery",
                "event",
                evt_typ=[*map(str, Outcome), "arriving", "unlocked"],
                stat_t=topics.events,
                val_tpl=DELIVERY_TEMPLATE,
            ),
            "in_home": component(
                "in_home",
                "switch",
                stat_t=topics.state,
                val_tpl="{{ 'ON' if value_json.in_home_enabled else 'OFF' }}",
                cmd_t=topics.owner_command("in_home"),
                pl_on="ON",
                pl_off="OFF",
            ),
            "snapshot": component(
                "snapshot", "button", cmd_t=topics.owner_command("snapshot"), pl_prs="PRESS"
            ),
            "image": component("image", "image", img_t=topics.image_latest, cont_type="image/jpeg"),
            "last_delivery": component(
                "last_delivery",
                "sensor",
                stat_t=topics.last_delivery,
                val_tpl="{{ value_json.outcome }}",
                json_attr_t=topics.last_delivery,
            ),
        },
    }


def discovery_payload(config: Config, topics: Topics) -> bytes:
    """The retained message: the device when enabled, empty (which removes it) when not."""
    if not config.homeassistant.enabled:
        return b""
    return json.dumps(discovery(config, topics), separators=(",", ":")).encode()
