"""Values the delivery state machine works on: its state, its inputs, and the Transition it
returns for each step (the new state, the durable record of the step, the lock command if any,
and the outward actions).

All are frozen dataclasses so a transition can never change the state it was given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from edge.domain.camera import FrameStamp
from edge.domain.owner import OwnerInHome, OwnerLock, OwnerRejected, OwnerSnapshot, OwnerUnlock
from edge.domain.passes import Courier, Mode, Pass, Rejection
from edge.domain.policy import Policy


class LockReading(StrEnum):
    LOCKED = "locked"
    UNLOCKED = "unlocked"
    JAMMED = "jammed"  # only after a relock failed to verify; never a sensor's reading


class EventType(StrEnum):
    """The `type` of every event the device publishes (docs/protocol.md §5, and doorstep's own)."""

    COMMAND_REJECTED = "command.rejected"
    DELIVERY_ARRIVING = "delivery.arriving"
    DELIVERY_UNLOCKED = "delivery.unlocked"
    DELIVERY_DOOR_OPENED = "delivery.door_opened"
    DELIVERY_DOOR_CLOSED = "delivery.door_closed"
    DELIVERY_LOCKED = "delivery.locked"
    DELIVERY_PHOTO = "delivery.photo"
    DELIVERY_COMPLETED = "delivery.completed"
    ALARM_DOOR_LEFT_OPEN = "alarm.door_left_open"
    ALARM_LOCK_FAULT = "alarm.lock_fault"
    ALARM_CAMERA_FAULT = "alarm.camera_fault"
    DOORBELL_PRESSED = "doorbell.pressed"
    LOCK_CHANGED = "lock.changed"
    OWNER_UNLOCKED = "owner.unlocked"
    OWNER_RELOCKED = "owner.relocked"
    # doorstep's own
    OWNER_IN_HOME = "owner.in_home"
    PHOTO_ERASED = "photo.erased"
    PHOTO_UPLOAD_REJECTED = "photo.upload_rejected"
    ALARM_STORAGE_FULL = "alarm.storage_full"
    ALARM_STORAGE_FAULT = "alarm.storage_fault"  # the database is damaged
    DOOR_OPENED = "door.opened"  # outside any delivery or owner unlock
    DOOR_CLOSED = "door.closed"
    ALARM_FORCED_ENTRY = "alarm.forced_entry"  # opened while the bolt's sensor reads locked


class Phase(StrEnum):
    WAITING = "waiting"  # accepted, waiting for the courier's next command
    UNLOCKED = "unlocked"  # in-home: unlocked for the courier, door not opened yet
    OPEN = "open"  # in-home: the door is open
    CLOSED = "closed"  # in-home: the door closed again, relock pending
    RELOCKING = "relocking"  # in-home: lock driven locked, waiting for the sensor to agree
    CONFIRMING = "confirming"  # confirmation photos are being taken


HOLDING_PHASES = (Phase.UNLOCKED, Phase.OPEN, Phase.CLOSED, Phase.RELOCKING)


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
    DOOR_OPEN = "door_open"
    CONFIRMATION = "confirmation"
    DOORBELL = "doorbell"
    OWNER = "owner"  # a snapshot the homeowner asked for
    REFERENCE = "reference"  # the empty drop zone at `arriving`: compared, never kept


@dataclass(frozen=True)
class Now:
    """The two clocks: passes and grants live on the wall clock; every relative timer of the
    in-home sequence uses the monotonic one, so stepping the wall clock never delays a relock."""

    wall: float
    mono: float


@dataclass(frozen=True)
class Delivery:
    id: str
    mode: Mode
    courier: Courier
    confidential: bool
    expires_at: float  # the grant's exp, wall-clock seconds
    phase: Phase = Phase.WAITING
    photos: tuple[str, ...] = ()
    pending_photos: int = 0
    # Monotonic deadline of the current phase: unlock timeout (UNLOCKED), relock (CLOSED),
    # lock verification (RELOCKING), photo timeout (CONFIRMING). WAITING uses expires_at.
    due: float | None = None
    done_requested: bool = False  # the courier said done while the door was open
    outcome: Outcome | None = None  # how a RELOCKING delivery ends once the lock is verified
    alarmed: bool = False  # alarm.door_left_open was raised (once per delivery)
    alarm_at: float | None = None  # OPEN: when the door counts as left open
    photo_at: float | None = None  # OPEN: the next photo while the door is open
    parcel_visible: bool | None = None  # the drop zone changed since `arriving` (a heuristic)



@dataclass(frozen=True)
class OwnerHold:
    """The homeowner's own unlock, holding the door: the relock rules of an in-home delivery
    (unlock timeout, relock after the door closes, verification, the door-left-open alarm),
    and none of a delivery's events, photos or receipt (docs/protocol.md §8)."""

    phase: Phase = Phase.UNLOCKED
    due: float | None = None  # monotonic, as a delivery's
    outcome: Outcome | None = None
    alarmed: bool = False
    alarm_at: float | None = None
    photo_at: float | None = None  # never set: the owner's own door takes no photos
    done_requested: bool = False  # never set: the owner says no `done`


Hold = Delivery | OwnerHold  # who holds the door, from its unlock until the lock is verified

@dataclass(frozen=True)
class Rules:
    """The homeowner's delivery settings that the machine needs (config `[delivery]`)."""

    in_home_enabled: bool = False
    unlock_timeout_s: float = 30.0
    door_open_alarm_s: float = 120.0
    relock_delay_s: float = 2.0
    lock_verify_s: float = 3.0
    open_photo_interval_s: float = 5.0
    confirmation_photos: int = 1
    photo_timeout_s: float = 30.0  # a photo not back by then counts as a camera fault
    camera_proof_s: float = 1.0  # an unlock waits this long at most for a fresh frame
    owner_unlock: bool = False  # `[owner] unlock_code_hash` is set
    drop_zone: bool = False  # `[delivery] drop_zone` is set: look for the parcel
    lock_retry_max_s: float = 60.0  # backoff ceiling for re-driving a jammed lock
    lock_sensed: bool = False  # a sensor reads the bolt (else "locked" is only the relay's state)
    max_active_deliveries: int = 64  # more waiting grants are refused `too_many_deliveries`
    policy: Policy = Policy()  # the homeowner's rules for in-home deliveries (`[policy]`)


@dataclass(frozen=True)
class PendingUnlock:
    """An unlock the rules allow, waiting for the camera to prove it is watching: a frame
    captured after ``admitted_at`` that advanced past the frame before it. Never persisted: a
    restart forgets it, and the lock never moved for it."""

    proof_id: int
    pass_: Pass | None  # the at_door pass (its jti is consumed only on unlock); None: the owner
    admitted_at: float  # monotonic: when the pass (or the owner's code) was admitted
    deadline: float  # monotonic: no proof by then means camera_unavailable

    @property
    def cmd(self) -> str:
        return self.pass_.cmd if self.pass_ is not None else "owner/lock"

    @property
    def jti(self) -> str | None:
        return self.pass_.jti if self.pass_ is not None else None

    @property
    def delivery_id(self) -> str | None:
        return self.pass_.delivery_id if self.pass_ is not None else None


@dataclass(frozen=True)
class RejectionWindow:
    """This minute's count of one rejection reason (edge.domain.rejections)."""

    reason: str
    opened: float  # monotonic
    said: int = 0  # events emitted in this window
    suppressed: int = 0
    cmd: str = ""  # the command of the last suppressed rejection


@dataclass(frozen=True)
class Settings:
    """What the homeowner set, kept across restarts: in-home deliveries on or off (None: the
    config's default), and the wrong owner codes that count towards a lockout."""

    in_home: bool | None = None
    wrong_codes: tuple[float, ...] = ()  # wall-clock times, within the last 10 minutes
    locked_out_until: float | None = None  # wall clock


@dataclass(frozen=True)
class State:
    deliveries: tuple[Delivery, ...] = ()  # active deliveries, oldest accepted first
    owner_hold: OwnerHold | None = None  # the homeowner's own unlock holds the door
    lock: LockReading = LockReading.LOCKED  # the sensor, or a failed verification
    lock_target: LockReading = LockReading.LOCKED  # what the relay is driven to
    door_open: bool = False
    camera_ok: bool = True
    clock_synced: bool = True  # passes are refused while it is not (edge.intake checks it)
    storage_full: frozenset[str] = frozenset()  # "photos" and/or "outbox" over their quota
    lock_retry_at: float | None = None  # monotonic: next re-drive of a jammed lock
    lock_retry_s: float = 0.0  # the current backoff
    unlock_pending: PendingUnlock | None = None
    proofs_asked: int = 0  # numbers each proof request, so an old answer cannot pass for new
    rejection_windows: tuple[RejectionWindow, ...] = ()
    settings: Settings = Settings()
    # Who moved the lock last, until its reading agrees: pass, owner, relock or startup. A
    # reading that changes while this is None was a hand on the bolt (`manual`).
    lock_source: str | None = None
    snapshot_at: float | None = None  # monotonic: the last owner snapshot (rate limit)
    code_check: int | None = None  # an owner code being checked (the number of CheckCode)
    # The owner lockout's end on the monotonic clock: a wall clock stepped forward (by hand, or
    # a bad time server) cannot end it early. The wall-clock end in the settings carries it
    # across a restart.
    locked_out_mono: float | None = None
    checks_asked: int = 0


# --- inputs -------------------------------------------------------------------------------


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
    PassRejected | PassVerified | PhotoTaken | PhotoFailed | DoorbellPressed | DoorMoved
    | CameraHealth | ClockChecked | LockSensed | StorageHealth | Tick | UploadRejected | FrameProof
    | RecordFailed | OwnerLock | OwnerInHome | OwnerSnapshot | OwnerUnlock | OwnerRejected
    | CodeChecked
)


# --- actions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsumeJti:
    """Record the pass as used. Always the first action of an accepted pass."""

    jti: str
    exp: float


@dataclass(frozen=True)
class Emit:
    type: EventType
    delivery_id: str | None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Capture:
    request: CaptureRequest


@dataclass(frozen=True)
class SharePhoto:
    """Publish a stored photo's bytes: under the delivery, or as a snapshot when it has none;
    ``latest`` also as the retained `image/latest` (never a confidential delivery's)."""

    photo_id: str
    delivery_id: str | None
    latest: bool = False


@dataclass(frozen=True)
class Retain:
    """A retained message for dashboards (`last_delivery`), sent through the outbox."""

    topic: Literal["last_delivery"]
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DriveLock:
    locked: bool


@dataclass(frozen=True)
class ProveCamera:
    """Capture a new frame now, captured no earlier than ``not_before`` (monotonic seconds),
    and answer with FrameProof(proof_id, ...)."""

    proof_id: int
    not_before: float


@dataclass(frozen=True)
class CheckCode:
    """Check the owner's code against the configured hash, off the core thread (scrypt is slow
    on purpose), and answer with CodeChecked(check_id, ok). The code is in no repr."""

    check_id: int
    code: str = field(repr=False)


class Led(StrEnum):
    """What the indicator LED shows (`state.indicator`)."""

    OFF = "off"
    ON = "on"  # the door is unlocked
    BLINKING_FAST = "blinking_fast"  # the lock failed to relock


class Tune(StrEnum):
    """A short pattern on the buzzer, for the person at the door."""

    UNLOCKED = "unlocked"  # two short beeps: push the door
    RELOCKED = "relocked"  # one long beep: the lock is verified locked again
    REFUSED = "refused"  # three short beeps: the at_door pass was refused


@dataclass(frozen=True)
class Indicate:
    """Show ``led`` on the indicator LED; beep on the buzzer while ``door_alarm`` (a delivery's
    door left open past door_open_alarm_s) until the door closes. Patterns run off the core
    thread."""

    led: Led
    door_alarm: bool


@dataclass(frozen=True)
class Sound:
    tune: Tune


Action = (
    ConsumeJti | DriveLock | Emit | Capture | SharePhoto | ProveCamera | Retain | CheckCode
)
@dataclass(frozen=True)
class Watch:
    """Watch the camera closely (``close``) while someone is let in: a frame older than a
    second is a camera fault, raised while the door is unlocked or open, not found later."""

    close: bool


Outward = Capture | ProveCamera | CheckCode | Indicate | Sound | Watch  # the Effects port's


@dataclass(frozen=True)
class Record:
    """What one step must make durable, in ONE transaction, before anything it decided is
    visible: the pass it used, the active deliveries when they changed, the photos it queues
    (before the events that announce them) and its events."""

    consume: ConsumeJti | None = None
    deliveries: tuple[Delivery, ...] | None = None  # None: unchanged (with the owner's hold)
    owner_hold: OwnerHold | None = None  # written with the deliveries, whole, when they are
    photos: tuple[SharePhoto, ...] = ()
    events: tuple[Emit, ...] = ()
    retained: tuple[Retain, ...] = ()
    settings: Settings | None = None  # None: unchanged

    def __bool__(self) -> bool:
        return bool(self.consume or self.deliveries is not None or self.photos or self.events
                    or self.retained or self.settings is not None)


@dataclass(frozen=True)
class Transition:
    """One step of the machine. The core carries it out in this order: a relock at once (not
    even the disk comes first), then the record in one transaction, then an unlock (only once
    the pass is durably used), then the outward actions."""

    state: State
    record: Record = Record()
    lock: DriveLock | None = None
    actions: tuple[Outward, ...] = ()
