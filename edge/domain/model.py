"""Values the delivery state machine works on: its state, its inputs and the actions it asks for.

All are frozen dataclasses so a transition can never change the state it was given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Union

from edge.domain.passes import Courier, Pass, Rejection


class Phase(StrEnum):
    WAITING = "waiting"  # accepted, waiting for the courier's next command
    CONFIRMING = "confirming"  # courier is done, confirmation photos are being taken


class Outcome(StrEnum):
    DELIVERED = "delivered"
    NOT_ENTERED = "not_entered"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    INTERRUPTED = "interrupted"
    ABORTED = "aborted"


class Purpose(StrEnum):
    """Why a photo is taken; it decides where the photo goes and what it completes."""

    AT_DOOR = "at_door"
    CONFIRMATION = "confirmation"
    DOORBELL = "doorbell"


@dataclass(frozen=True)
class Delivery:
    id: str
    mode: str
    courier: Courier
    confidential: bool
    expires_at: float  # the grant's exp, wall-clock seconds
    phase: Phase = Phase.WAITING
    photos: tuple[str, ...] = ()
    pending_photos: int = 0
    confirm_by: float | None = None  # while confirming: finish by then even if photos hang


@dataclass(frozen=True)
class Rules:
    """The homeowner's delivery settings that the machine needs (config `[delivery]`)."""

    in_home_enabled: bool = False
    confirmation_photos: int = 1
    photo_timeout_s: float = 30.0  # a photo not back by then counts as a camera fault


@dataclass(frozen=True)
class State:
    deliveries: tuple[Delivery, ...] = ()  # active deliveries, oldest accepted first
    lock: str = "locked"  # locked | unlocked | jammed, as the hardware reports it
    door_open: bool = False
    camera_ok: bool = True


# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassRejected:
    rejection: Rejection


@dataclass(frozen=True)
class PassVerified:
    """Signature, claims and replay checks passed; the command rules are still to apply."""

    pass_: Pass


@dataclass(frozen=True)
class CaptureRequest:
    purpose: Purpose
    delivery_id: str | None
    confidential: bool = False


@dataclass(frozen=True)
class PhotoTaken:
    request: CaptureRequest
    photo_id: str
    sha256: str
    size: int
    captured_at: str


@dataclass(frozen=True)
class PhotoFailed:
    request: CaptureRequest
    error: str


@dataclass(frozen=True)
class DoorbellPressed:
    pass


@dataclass(frozen=True)
class DoorMoved:
    open: bool


@dataclass(frozen=True)
class CameraHealth:
    ok: bool


@dataclass(frozen=True)
class LockSensed:
    lock: str


@dataclass(frozen=True)
class Tick:
    """Time has passed; deadlines are due."""


Input = Union[
    PassRejected, PassVerified, PhotoTaken, PhotoFailed, DoorbellPressed, DoorMoved,
    CameraHealth, LockSensed, Tick,
]


# --- actions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsumeJti:
    """Record the pass as used. Always the first action of an accepted pass."""

    jti: str
    exp: float


@dataclass(frozen=True)
class Emit:
    type: str
    delivery_id: str | None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Capture:
    request: CaptureRequest


@dataclass(frozen=True)
class SharePhoto:
    """Publish a stored photo's bytes: under the delivery, or as a snapshot when it has none."""

    photo_id: str
    delivery_id: str | None


Action = Union[ConsumeJti, Emit, Capture, SharePhoto]
