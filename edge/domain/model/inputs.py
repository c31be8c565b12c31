"""What the machine is told: passes, the camera's and the photos' answers, the door, the lock,
health, time, the homeowner's commands, and a record that could not be written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from edge.domain.camera import FrameStamp
from edge.domain.model.state import ClipPurpose, LockReading, Purpose
from edge.domain.owner import OwnerInHome, OwnerLock, OwnerRejected, OwnerSnapshot, OwnerUnlock
from edge.domain.passes import Pass, Rejection


@dataclass(frozen=True)
class PassRejected:
    rejection: Rejection
    count: int = 1  # the same rejection, tallied this many times (junk from a flood)
    # Its signature verified: the cloud sent it, and hears every refusal of it at once. Only
    # what could not be verified (or a replay, which anyone who saw a pass can send) is
    # coalesced, so a flood of junk cannot bury the answers the cloud waits for.
    signed: bool = False
    error: str | None = None  # storage_error: what the database said (the pass was not checked)


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
    frame: FrameStamp | None = None  # the camera's frame counter and sensor time
    parcel_visible: bool | None = None  # confirmation photos, with a drop zone


@dataclass(frozen=True)
class PhotoFailed:
    request: CaptureRequest
    error: str


@dataclass(frozen=True)
class ClipRequest:
    """A clip to record, and for whom: a hold's (until its relock) or a doorbell press's."""

    purpose: ClipPurpose
    delivery_id: str | None
    confidential: bool = False


MAX_FRAME_GAP_S = 1.0  # a longer wait for a frame while a clip recorded: a camera fault


@dataclass(frozen=True)
class ClipTaken:
    """A clip stored on disk: its hash and what it shows (frame numbers, sensor times)."""

    request: ClipRequest
    clip_id: str
    sha256: str
    size: int
    started_at: str  # RFC 3339: the clip's first frame
    duration_s: float
    frames: tuple[int, int]  # the camera's counter at the first and the last frame
    max_gap_s: float  # the longest wait between two frames (or before the end): > 1 s, a fault
    truncated: bool = False  # cut at `[video] max_s`


@dataclass(frozen=True)
class ClipFailed:
    request: ClipRequest
    error: str


@dataclass(frozen=True)
class FrameProof:
    """The camera worker's answer to ProveCamera: the frame it captured (None when it got none)
    and the one it had seen before it."""

    proof_id: int
    frame: FrameStamp | None
    previous: FrameStamp | None
    error: str = ""


@dataclass(frozen=True)
class DoorbellPressed:
    pass


@dataclass(frozen=True)
class DoorMoved:
    open: bool


@dataclass(frozen=True)
class CameraHealth:
    ok: bool
    detail: str | None = None  # why not, as the camera worker saw it
    frame_age_s: float | None = None  # how old the newest frame was, when that is why


@dataclass(frozen=True)
class UploadRejected:
    """The upload server refused a photo for good (a 4xx other than 408 and 429)."""

    photo_id: str
    delivery_id: str | None
    status: int


@dataclass(frozen=True)
class StorageHealth:
    area: Literal["photos", "outbox", "database"]  # "database": damaged, not full
    ok: bool


@dataclass(frozen=True)
class ClockChecked:
    synced: bool


@dataclass(frozen=True)
class LockSensed:
    lock: LockReading


@dataclass(frozen=True)
class Tick:
    """Time has passed; deadlines are due."""


@dataclass(frozen=True)
class CodeChecked:
    """The answer to CheckCode: was the owner's code the configured one?"""

    check_id: int
    ok: bool


@dataclass(frozen=True)
class RecordFailed:
    """The durable record of ``original``'s step could not be written (a full disk, a failing
    card): the machine decides again what that step may still do."""

    original: Input
    error: str


Input = (
    PassRejected
    | PassVerified
    | PhotoTaken
    | PhotoFailed
    | ClipTaken
    | ClipFailed
    | DoorbellPressed
    | DoorMoved
    | CameraHealth
    | ClockChecked
    | LockSensed
    | StorageHealth
    | Tick
    | UploadRejected
    | FrameProof
    | RecordFailed
    | OwnerLock
    | OwnerInHome
    | OwnerSnapshot
    | OwnerUnlock
    | OwnerRejected
    | CodeChecked
)
