"""The homeowner's rules through the real daemon (docs/protocol.md §11): a named doorstep-only
key, a courier allow-list and in-home hours, each refused by name and opening nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from simulator.cloud import mint

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def closed_hours() -> str:
    """In-home hours (UTC) that do not include now, on every day."""
    now = datetime.now(UTC)
    window = "12:00-12:01" if now.hour == 0 and now.minute < 2 else "00:00-00:01"
    return "".join(f'{day} = ["{window}"]\n' for day in DAYS)


def carrier_key(folder: Path) -> tuple[Ed25519PrivateKey, Path]:
    key = Ed25519PrivateKey.generate()
    path = folder / "acme.pub.pem"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key, path


def test_a_doorstep_only_carrier_key_never_opens_the_door(new_device, tmp_path: Path) -> None:
    key, path = carrier_key(tmp_path / "acme")
    device = new_device(
        "[delivery]\nin_home_enabled = true\n",
        more_keys=f'{{ file = "{path}", name = "acme", modes = ["doorstep"] }}',
    )
    signed = mint(key, "arriving", device_id=device.device_id, delivery_id="D-1", mode="in_home")
    device.send("arriving", signed)
    device.rejected("mode_not_allowed", cmd="arriving")
    device.send("arriving", mint(key, "arriving", device_id=device.device_id, delivery_id="D-2"))
    device.cloud.wait_event("delivery.arriving", delivery_id="D-2")  # doorstep: fine

    device.send("arriving", device.mint("arriving", delivery_id="D-3", mode="in_home"))
    device.cloud.wait_event("delivery.arriving", delivery_id="D-3")  # the cloud's own key
    device.send("at_door", mint(key, "at_door", device_id=device.device_id, delivery_id="D-3"))
    device.rejected("mode_not_allowed", cmd="at_door", delivery_id="D-3")
    assert device.events("delivery.unlocked") == []


def test_allow_list_and_hours_refuse_by_name(new_device) -> None:
    device = new_device(
        '[delivery]\nin_home_enabled = true\n[policy]\ntimezone = "UTC"\n'
        'couriers = ["courier-7"]\n[policy.in_home_hours]\n' + closed_hours()
    )
    stranger = {"id": "courier-99", "name": "Kim"}
    device.send("arriving", device.mint("arriving", mode="in_home", courier=stranger))
    device.rejected("courier_not_allowed", cmd="arriving")

    device.send("arriving", device.mint("arriving", delivery_id="D-2", mode="in_home"))
    device.cloud.wait_event("delivery.arriving", delivery_id="D-2")  # early is fine
    device.send("at_door", device.mint("at_door", delivery_id="D-2"))
    device.rejected("outside_hours", cmd="at_door", delivery_id="D-2")
    device.cloud.wait_state(lock="locked")
    assert device.events("delivery.unlocked") == []
