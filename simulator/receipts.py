"""Checking a doorstep device's delivery receipts (docs/protocol.md §9), as a cloud, a courier's
company or a homeowner in a dispute would: the signature (the device's public key, from its
retained `device_key`), the chain (each `prev` is the sha256 of the receipt before it), and the
photos and clips (each file's sha256 against the one the receipt lists). Says what is wrong,
if anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key


@dataclass
class Verdict:
    receipts: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    photos_checked: int = 0
    photos_local: list[str] = field(default_factory=list)  # kept on the device by design
    clips_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_photos(
    verdict: Verdict, name: str, listed: list[dict[str, Any]], photos: Mapping[str, bytes] | None
) -> None:
    """Each photo a receipt lists against its bytes, where they are at hand."""
    for photo in listed:
        data = photos.get(photo["photo_id"]) if photos is not None else None
        if data is None and photo.get("local_only"):
            verdict.photos_local.append(photo["photo_id"])  # confidential: hash only
            continue
        if data is None:
            if photos is not None:
                verdict.problems.append(
                    f"{name}: photo {photo['photo_id']} is missing "
                    "(it was sent; nothing to check it against)"
                )
            continue
        verdict.photos_checked += 1
        if hashlib.sha256(data).hexdigest() != photo["sha256"]:
            verdict.problems.append(
                f"{name}: photo {photo['photo_id']} is not the photo "
                "the receipt lists (its sha256 differs)"
            )


def _check_clips(
    verdict: Verdict,
    name: str,
    listed: list[dict[str, Any]],
    clips: Mapping[str, bytes | None] | None,
) -> None:
    """Each clip a receipt lists against its bytes, where they were sent."""
    if clips is None:
        return
    for clip in listed:
        if clip.get("local_only"):
            continue
        data = clips.get(clip["clip_id"])
        if data is None:
            verdict.problems.append(f"{name}: clip {clip['clip_id']} is missing or incomplete")
        elif hashlib.sha256(data).hexdigest() != clip["sha256"]:
            verdict.problems.append(f"{name}: clip {clip['clip_id']} is not the one listed")
        else:
            verdict.clips_checked += 1


def verify_receipts(
    public_pem: bytes,
    receipts: list[str],
    photos: Path | Mapping[str, bytes] | None = None,
    first_prev: str | None = None,
    last_number: int | None = None,
    from_first: bool = False,
    clips: Mapping[str, bytes | None] | None = None,
) -> Verdict:
    """Check ``receipts`` (compact JWS, oldest first) and the photos they list (a folder of
    `<photo_id>.jpg`, or the bytes by photo id). ``first_prev``: what the first one's `prev`
    must be (unknown when None: a chain may be checked from its middle). ``from_first``: the
    receipts claim to start at the device's first (number 1, prev null); ``last_number``: the
    number the device's retained `last_delivery` gives its latest receipt. Every receipt's
    number follows the one before it, so a receipt taken out anywhere shows. ``clips``: the
    clips' MP4 bytes by clip id (None: announced, not all its chunks came), checked likewise."""
    if isinstance(photos, Path):
        folder = photos
        photos = {f.stem: f.read_bytes() for f in folder.glob("*.jpg")}
    key = load_pem_public_key(public_pem)
    verdict = Verdict()
    if not isinstance(key, Ed25519PublicKey):
        verdict.problems.append("the device key is not an Ed25519 public key")
        return verdict
    previous: str | None = None
    numbers: list[int] = []
    for number, token in enumerate(receipts, 1):
        token = token.strip()
        try:
            payload = json.loads(jwt.api_jws.decode(token, key, algorithms=["EdDSA"]))
        except (jwt.InvalidTokenError, ValueError) as exc:
            verdict.problems.append(f"receipt {number}: the signature does not verify ({exc})")
            previous = hashlib.sha256(token.encode()).hexdigest()
            continue
        verdict.receipts.append(payload)
        name = f"receipt {number} ({payload.get('delivery_id')})"
        expected = previous if previous is not None else first_prev
        if (previous is not None or first_prev is not None) and payload.get("prev") != expected:
            verdict.problems.append(
                f"{name}: the chain is broken: prev is {payload.get('prev')}, "
                f"the receipt before it hashes to {expected}"
            )
        previous = hashlib.sha256(token.encode()).hexdigest()
        if isinstance(payload.get("number"), int):
            if numbers and payload["number"] != numbers[-1] + 1:
                verdict.problems.append(
                    f"{name}: receipts {numbers[-1] + 1} to {payload['number'] - 1} are missing"
                )
            numbers.append(payload["number"])
        _check_photos(verdict, name, payload.get("photos", []), photos)
        _check_clips(verdict, name, payload.get("clips") or [], clips)
    if from_first and numbers and numbers[0] != 1:
        verdict.problems.append(
            f"receipts 1 to {numbers[0] - 1} are missing (the first one "
            f"given is number {numbers[0]})"
        )
    if last_number is not None and (not numbers or numbers[-1] < last_number):
        have = numbers[-1] if numbers else 0
        verdict.problems.append(
            f"receipts {have + 1} to {last_number} are missing (the "
            f"device's last_delivery says its latest is {last_number})"
        )
    return verdict
