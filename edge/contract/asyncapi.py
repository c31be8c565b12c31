"""The AsyncAPI 3.0 document of a doorstep device: every topic it reads and writes
(docs/protocol.md §1-§10), its JSON payloads by reference to the generated JSON Schemas.

It describes the device as the application: `receive` is what the device reads (passes, owner
commands, the simulated world, Home Assistant's status), `send` is what it publishes.
"""

from __future__ import annotations

import json
from typing import Any

from edge import __version__
from edge.contract.payloads import whole
from edge.contract.schemas import SCHEMAS

PROTOCOL_VERSION = "1.1.0"
JSON_SCHEMA = "application/schema+json;version=draft-2020-12"
COMPACT_JWS = whole(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

PARAMETERS: dict[str, dict[str, Any]] = {
    "prefix": {"description": "mqtt.topic_prefix", "default": "doorstep"},
    "device_id": {
        "description": "the device's id: 1-64 of A-Z a-z 0-9 _ -",
        "examples": ["porch-1"],
    },
    "delivery_id": {"description": "a delivery's id: 1-64 of A-Z a-z 0-9 _ -"},
    "photo_id": {"description": "a photo's id"},
    "clip_id": {"description": "a clip's id"},
    "chunk": {"description": "a chunk's number, from 0"},
    "command": {
        "description": "the pass's command",
        "enum": ["arriving", "at_door", "done", "cancel"],
    },
    "discovery_prefix": {
        "description": "[homeassistant] discovery_prefix",
        "default": "homeassistant",
    },
    "status_topic": {
        "description": "[homeassistant] status_topic",
        "default": "homeassistant/status",
    },
}


def _json(name: str) -> dict[str, Any]:
    return {"schemaFormat": JSON_SCHEMA, "schema": {"$ref": f"{name}.schema.json"}}


def _words(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


# channel name -> (address, summary, payload, content type, device's action, retained)
CHANNELS: dict[str, tuple[str, str, dict[str, Any], str, str, bool]] = {
    "commands": (
        "{prefix}/{device_id}/cmd/{command}",
        "A courier's pass from the cloud: a compact EdDSA JWT whose claims are "
        "pass-claims.schema.json (§2).",
        {"type": "string", "pattern": COMPACT_JWS, "maxLength": 4096},
        "application/jwt",
        "receive",
        False,
    ),
    "availability": (
        "{prefix}/{device_id}/availability",
        "online once the device can act on commands; offline on a clean stop and as the will.",
        _words("online", "offline"),
        "text/plain",
        "send",
        True,
    ),
    "state": (
        "{prefix}/{device_id}/state",
        "What the device sees now, on every change (§4).",
        _json("state"),
        "application/json",
        "send",
        True,
    ),
    "events": (
        "{prefix}/{device_id}/events",
        "Every event, in seq order, at least once: deduplicate by id (§5).",
        _json("event"),
        "application/json",
        "send",
        False,
    ),
    "photos": (
        "{prefix}/{device_id}/photos/{delivery_id}/{photo_id}",
        "A delivery photo's JPEG bytes, announced by delivery.photo (§5).",
        {"type": "string", "format": "binary"},
        "image/jpeg",
        "send",
        False,
    ),
    "snapshots": (
        "{prefix}/{device_id}/snapshots/{photo_id}",
        "A photo outside any delivery: a doorbell press, an owner snapshot.",
        {"type": "string", "format": "binary"},
        "image/jpeg",
        "send",
        False,
    ),
    "clips": (
        "{prefix}/{device_id}/clips/{delivery_id}/{clip_id}/{chunk}",
        "Chunk n (from 0) of a clip's MP4 bytes, announced by delivery.clip, doorbell.clip or "
        "owner.clip; join the chunks in order and check the sha256.",
        {"type": "string", "format": "binary"},
        "video/mp4",
        "send",
        False,
    ),
    "snapshotClips": (
        "{prefix}/{device_id}/snapshots/clips/{clip_id}/{chunk}",
        "Chunk n of a clip outside any delivery (a doorbell press, the owner's unlock).",
        {"type": "string", "format": "binary"},
        "video/mp4",
        "send",
        False,
    ),
    "lastDelivery": (
        "{prefix}/{device_id}/last_delivery",
        "The last completed delivery (§8).",
        _json("last-delivery"),
        "application/json",
        "send",
        True,
    ),
    "imageLatest": (
        "{prefix}/{device_id}/image/latest",
        "The latest snapshot or delivery photo, never a confidential one (§8).",
        {"type": "string", "format": "binary"},
        "image/jpeg",
        "send",
        True,
    ),
    "deviceKey": (
        "{prefix}/{device_id}/device_key",
        "The device's Ed25519 public key (SubjectPublicKeyInfo PEM) that signs its receipts (§9).",
        {"type": "string", "pattern": "^-----BEGIN PUBLIC KEY-----"},
        "application/x-pem-file",
        "send",
        True,
    ),
    "receipts": (
        "{prefix}/{device_id}/receipts/{delivery_id}",
        "A completed delivery's signed receipt: a compact EdDSA JWS whose payload is "
        "receipt.schema.json (§9).",
        {"type": "string", "pattern": COMPACT_JWS},
        "application/jose",
        "send",
        False,
    ),
    "ownerLock": (
        "{prefix}/{device_id}/owner/lock",
        'LOCK, or JSON {"action": "LOCK"} or {"action": "UNLOCK", "code": "<6-12 digits>"} (§8).',
        {"oneOf": [_words("LOCK"), {"type": "string", "contentMediaType": "application/json"}]},
        "text/plain",
        "receive",
        False,
    ),
    "ownerInHome": (
        "{prefix}/{device_id}/owner/in_home",
        "In-home deliveries allowed from now on, or not (§8).",
        _words("ON", "OFF"),
        "text/plain",
        "receive",
        False,
    ),
    "ownerSnapshot": (
        "{prefix}/{device_id}/owner/snapshot",
        "Take a snapshot now, at most one per 5 s (§8).",
        _words("PRESS"),
        "text/plain",
        "receive",
        False,
    ),
    "simDoor": (
        "{prefix}/{device_id}/sim/door",
        "Sim backend only: the door contact (§6).",
        _words("open", "close"),
        "text/plain",
        "receive",
        False,
    ),
    "simDoorbell": (
        "{prefix}/{device_id}/sim/doorbell",
        "Sim backend only: a press (§6).",
        _words("press"),
        "text/plain",
        "receive",
        False,
    ),
    "simCamera": (
        "{prefix}/{device_id}/sim/camera",
        "Sim backend only: frames stop, resume, or repeat the same frame (§6, §10).",
        _words("fail", "ok", "freeze"),
        "text/plain",
        "receive",
        False,
    ),
    "simLock": (
        "{prefix}/{device_id}/sim/lock",
        "Sim backend only: while jammed the lock never reads locked (§6).",
        _words("jam", "ok"),
        "text/plain",
        "receive",
        False,
    ),
    "simParcel": (
        "{prefix}/{device_id}/sim/parcel",
        "Sim backend only: a parcel on the doormat in the frames (§10).",
        _words("place", "remove"),
        "text/plain",
        "receive",
        False,
    ),
    "homeAssistantDiscovery": (
        "{discovery_prefix}/device/doorstep_{device_id}/config",
        "Home Assistant device-based MQTT discovery (2024.12+) of the device's components; "
        "empty when [homeassistant] is disabled (§8).",
        {"type": "object"},
        "application/json",
        "send",
        True,
    ),
    "homeAssistantStatus": (
        "{status_topic}",
        "Home Assistant's birth message: online makes the device publish its discovery again (§8).",
        _words("online", "offline"),
        "text/plain",
        "receive",
        False,
    ),
}


def _parameters(address: str) -> dict[str, Any]:
    return {name: spec for name, spec in PARAMETERS.items() if "{" + name + "}" in address}


def document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for name, (address, summary, payload, content_type, action, retained) in CHANNELS.items():
        messages[name] = {
            "name": name,
            "summary": summary,
            "contentType": content_type,
            "payload": payload,
        }
        channels[name] = {
            "address": address,
            "summary": summary,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        if parameters := _parameters(address):
            channels[name]["parameters"] = parameters
        verb = "publish" if action == "send" else "read"
        operations[f"{verb}{name[0].upper()}{name[1:]}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}],
            "bindings": {"mqtt": {"qos": 1, "retain": retained, "bindingVersion": "0.2.0"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "doorstep device",
            "version": PROTOCOL_VERSION,
            "description": (
                "The MQTT interface of a doorstep doorbell (docs/protocol.md, protocol "
                f"{PROTOCOL_VERSION}; generated from doorstep {__version__} by make contract). "
                "Every message is QoS 1. JSON payloads are described by the JSON Schemas "
                f"beside this file: {', '.join(f'{n}.schema.json' for n in SCHEMAS)}."
            ),
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "mqtt": {
                "host": "localhost:1883",
                "protocol": "mqtt",
                "protocolVersion": "5",
                "description": "Any MQTT 5 or 3.1.1 broker (mqtt.protocol).",
            },
            "mqtts": {
                "host": "localhost:8883",
                "protocol": "secure-mqtt",
                "protocolVersion": "5",
                "description": "The same over TLS, mutual TLS with [mqtt.tls] cert_file.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> str:
    return json.dumps(document(), indent=2) + "\n"
