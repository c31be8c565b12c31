"""The machine's state: the lock, the door, the active deliveries and who holds the door, what
the homeowner set, and the two clocks and the rules a step is given. All frozen, so a
transition can never change the state it was given."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from edge.domain.passes import Courier, Mode, Pass
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
    DELIVERY_CLIP = "delivery.clip"  # video (doorstep's own, with the two below)
    DOORBELL_CLIP = "doorbell.clip"
    OWNER_CLIP = "owner.clip"
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


class ClipPurpose(StrEnum):
    """Why a clip is recorded: who was let in, or who rang."""

    DELIVERY = "delivery"  # a delivery's unlock until its relock
    OWNER = "owner"  # the homeowner's unlock until its relock
    DOORBELL = "doorbell"  # a press


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
    clips: tuple[str, ...] = ()
    clip_pending: bool = False  # CONFIRMING: the clip of its unlocked window is still recording


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
    clips: bool = False  # `[video] clips`: who is let in, and who rings, is filmed
    clip_post_s: float = 5.0  # a clip goes on this long after its relock (`[video] post_s`)


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
    clock_synced: bool = True  # passes are refused while it is not (edge.loop.intake checks it)
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
