"""The JSON payloads of docs/protocol.md as pydantic models: the source of `docs/contract/`.

The daemon builds its messages as plain dicts (fast, and shaped by the domain); these models say
what those dicts must look like, and the tests and the scenario runner check every message they
receive against the schemas generated from them, so the two cannot drift apart. Device messages
are strict (no field the contract does not name); a pass may carry claims the device ignores.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from edge.domain.model import Outcome, Phase
from edge.domain.passes import Mode, Reason


def whole(pattern: str) -> str:
    """A pattern the whole string must match, in every regex dialect: `$` also matches before
    a final newline in Python's (and so in Python validators), the lookahead does not."""
    return f"^{pattern}(?![\\s\\S])"


ID = whole(r"[A-Za-z0-9_-]{1,64}")
DeviceId = Annotated[str, Field(pattern=ID)]
DeliveryId = Annotated[str, Field(pattern=ID)]
PhotoId = Annotated[str, Field(pattern=ID)]
Sha256 = Annotated[str, Field(pattern=whole("[0-9a-f]{64}"), description="lowercase hex")]
Timestamp = Annotated[
    str,
    Field(
        pattern=whole(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"), description="RFC 3339, UTC"
    ),
]
PhotoPurpose = Literal["at_door", "door_open", "confirmation", "doorbell"]
LockSource = Literal["pass", "owner", "relock", "manual", "startup"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")


class Courier(_Strict):
    id: str
    name: str


# --- events (docs/protocol.md §5) -----------------------------------------------------------


class _Event(_Strict):
    id: str = Field(min_length=1, description="unique; receivers deduplicate by it")
    seq: int = Field(ge=1, description="strictly increasing per device, across restarts")
    ts: Timestamp
    device_id: DeviceId
    delivery_id: DeliveryId | None


class CommandRejected(_Event):
    type: Literal["command.rejected"]
    cmd: str = Field(description="the topic's last level, or owner/<name>, sim/<name>")
    reason: Reason
    jti: str | None
    detail: str | SkipJsonSchema[None] = Field(
        None, description="for camera_unavailable and storage_error"
    )
    suppressed: int | SkipJsonSchema[None] = Field(
        None, ge=1, description="a summary: how many rejections of this reason were not said"
    )
    window_s: float | SkipJsonSchema[None] = Field(
        None, gt=0, description="a summary: the window the suppressed ones fell in"
    )


class DeliveryArriving(_Event):
    type: Literal["delivery.arriving"]
    mode: Mode
    courier: Courier
    confidential: bool


class DeliveryStep(_Event):
    type: Literal[
        "delivery.unlocked", "delivery.door_opened", "delivery.door_closed", "delivery.locked"
    ]


class DeliveryPhoto(_Event):
    type: Literal["delivery.photo"]
    photo_id: PhotoId
    sha256: Sha256
    bytes: int = Field(ge=1)
    captured_at: Timestamp
    local_only: bool = Field(description="a confidential delivery's photo: never sent")
    purpose: PhotoPurpose
    frame: int | None = Field(description="the camera's frame counter")
    sensor_ns: int | None = Field(description="the sensor's timestamp of the frame")


class Clip(_Event):
    """A clip stored on the device: its bytes follow over MQTT in chunks of at most 256 KiB
    (or the broker's cap) on `clips/{delivery_id}/{clip_id}/{n}` (a doorbell's without a
    delivery: `snapshots/clips/{clip_id}/{n}`), n from 0, or by HTTP PUT like photos."""

    type: Literal["delivery.clip", "doorbell.clip", "owner.clip"]
    clip_id: PhotoId
    sha256: Sha256 = Field(description="of the whole MP4 file")
    bytes: int = Field(ge=1)
    started_at: Timestamp = Field(description="the first frame's time")
    duration_s: float = Field(ge=0)
    frames: list[int] = Field(
        min_length=2, max_length=2, description="the camera's frame counter: first, last"
    )
    max_gap_s: float = Field(ge=0, description="the longest wait for a frame while it recorded")
    camera_fault: bool = Field(description="max_gap_s was over a second: frames stopped")
    truncated: bool = Field(description="cut at [video] max_s")
    purpose: Literal["delivery", "doorbell", "owner"]
    local_only: bool = Field(description="a confidential delivery's clip: never sent")


class DeliveryCompleted(_Event):
    type: Literal["delivery.completed"]
    outcome: Outcome
    mode: Mode
    photos: list[PhotoId]
    clips: list[PhotoId] | SkipJsonSchema[None] = Field(
        None, description="the clips of its unlocked window, when it was filmed"
    )
    parcel_visible: bool | SkipJsonSchema[None] = Field(
        None, description="only with [delivery] drop_zone: the zone changed since arriving"
    )


class Alarm(_Event):
    type: Literal[
        "alarm.door_left_open", "alarm.lock_fault", "alarm.camera_fault", "alarm.forced_entry"
    ]
    detail: str | SkipJsonSchema[None] = Field(
        None, description="alarm.camera_fault: what the camera worker saw"
    )
    frame_age_s: float | SkipJsonSchema[None] = Field(
        None,
        ge=0,
        description="alarm.camera_fault while someone is let in: how old the newest frame was",
    )


class StorageFault(_Event):
    type: Literal["alarm.storage_fault"]


class DoorMoved(_Event):
    type: Literal["door.opened", "door.closed"]
    delivery_id: None


class StorageFull(_Event):
    type: Literal["alarm.storage_full"]
    area: Literal["photos", "outbox"]


class DoorbellPressed(_Event):
    type: Literal["doorbell.pressed"]
    photo_id: PhotoId | None


class LockChanged(_Event):
    type: Literal["lock.changed"]
    from_: Literal["locked", "unlocked", "jammed"] = Field(alias="from")
    to: Literal["locked", "unlocked", "jammed"]
    source: LockSource


class OwnerSession(_Event):
    type: Literal["owner.unlocked", "owner.relocked"]
    delivery_id: None


class OwnerInHome(_Event):
    type: Literal["owner.in_home"]
    delivery_id: None
    enabled: bool


class PhotoErased(_Event):
    type: Literal["photo.erased"]
    delivery_id: DeliveryId
    photo_ids: list[PhotoId]
    clip_ids: list[PhotoId] | SkipJsonSchema[None] = Field(None, description="clips erased too")


class PhotoUploadRejected(_Event):
    type: Literal["photo.upload_rejected"]
    photo_id: PhotoId
    status: int = Field(ge=400, le=499)
    local_only: bool


Event = Annotated[
    CommandRejected
    | DeliveryArriving
    | DeliveryStep
    | DeliveryPhoto
    | Clip
    | DeliveryCompleted
    | Alarm
    | DoorMoved
    | StorageFull
    | StorageFault
    | DoorbellPressed
    | LockChanged
    | OwnerSession
    | OwnerInHome
    | PhotoErased
    | PhotoUploadRejected,
    Field(discriminator="type"),
]


# --- retained device messages (§4, §8) ------------------------------------------------------


class StateDelivery(_Strict):
    id: DeliveryId
    mode: Mode
    phase: Phase


class State(_Strict):
    lock: Literal["locked", "unlocked", "jammed"]
    door: Literal["open", "closed"]
    camera: Literal["ok", "fault"]
    clock: Literal["synced", "unsynced"]
    storage: Literal["ok", "full", "fault"]
    in_home_enabled: bool
    indicator: Literal["off", "on", "blinking_fast"] = Field(
        description="what the indicator LED shows: on while unlocked, blinking on a lock fault"
    )
    delivery: StateDelivery | None = Field(
        description="the delivery holding the door, else the latest accepted active one"
    )
    version: str
    ts: Timestamp


class LastDelivery(_Strict):
    delivery_id: DeliveryId
    outcome: Outcome
    mode: Mode
    photos: list[PhotoId]
    parcel_visible: bool | SkipJsonSchema[None] = None
    receipt: int | SkipJsonSchema[None] = Field(
        None,
        ge=1,
        description="the number of this delivery's receipt: a verifier holding "
        "fewer receipts knows the last ones are missing",
    )
    ts: Timestamp


# --- receipts (§9) --------------------------------------------------------------------------


class ReceiptEvent(_Strict):
    id: str = Field(min_length=1)
    sha256: Sha256 = Field(description="of the exact bytes published for the event")


class ReceiptPhoto(_Strict):
    photo_id: PhotoId
    sha256: Sha256
    captured_at: Timestamp
    purpose: PhotoPurpose
    frame: int | None
    local_only: bool | SkipJsonSchema[None] = Field(
        None, description="kept on the device (a confidential delivery): no copy was sent"
    )


class ReceiptClip(_Strict):
    clip_id: PhotoId
    sha256: Sha256 = Field(description="of the whole MP4 file")
    started_at: Timestamp
    duration_s: float = Field(ge=0)
    frames: list[int] = Field(min_length=2, max_length=2)
    max_gap_s: float = Field(ge=0)
    truncated: bool
    local_only: bool


class Receipt(_Strict):
    """The payload of the compact JWS on `receipts/{delivery_id}`, signed by the device key."""

    device_id: DeviceId
    delivery_id: DeliveryId
    mode: Mode
    outcome: Outcome
    courier: Courier | None
    issued_at: Timestamp
    events: list[ReceiptEvent] = Field(description="the delivery's events, in seq order")
    photos: list[ReceiptPhoto]
    clips: list[ReceiptClip] | SkipJsonSchema[None] = Field(
        None, description="the clips of the delivery's unlocked window"
    )
    prev: Sha256 | None = Field(description="sha256 of the previous receipt's JWS text")
    number: int | SkipJsonSchema[None] = Field(
        None,
        ge=1,
        description="1 for the device's first receipt, one more for each after it: "
        "a missing first, middle or last receipt shows",
    )


# --- passes (§2) ----------------------------------------------------------------------------


class _Claims(BaseModel):
    """A pass's claims. Claims the contract does not name are allowed and ignored."""

    model_config = ConfigDict(extra="allow", frozen=True, regex_engine="python-re")

    iss: str
    aud: str = Field(description="the device_id the pass is for")
    jti: str = Field(min_length=1, max_length=128)
    iat: float = Field(
        ge=0,
        lt=1e11,
        description="seconds since 1970; not in the device's future (beyond the clock skew)",
    )
    exp: float = Field(ge=0, lt=1e11, description="after iat")
    nbf: float | SkipJsonSchema[None] = Field(None, ge=0, lt=1e11)
    delivery_id: DeliveryId


class PassCourier(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, regex_engine="python-re")

    id: str
    name: str


class ArrivingClaims(_Claims):
    cmd: Literal["arriving"]
    mode: Mode
    courier: PassCourier
    confidential: bool = False


class CommandClaims(_Claims):
    cmd: Literal["at_door", "done", "cancel"]


PassClaims = Annotated[ArrivingClaims | CommandClaims, Field(discriminator="cmd")]
