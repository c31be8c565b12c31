"""What a step decides: the actions, the durable Record of the step, and the Transition the
core carries out, in its order."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from edge.domain.model.inputs import CaptureRequest, ClipRequest
from edge.domain.model.state import Delivery, EventType, OwnerHold, Settings, State


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
class ShareClip:
    """Publish a stored clip's bytes (under its delivery, or as a snapshot's): ``size`` of
    them, which says how many chunks without looking at the file."""

    clip_id: str
    delivery_id: str | None
    size: int


@dataclass(frozen=True)
class Film:
    """Keep the video from `[video] pre_s` before now as one clip, until ``key``'s StopFilm
    (a hold: unlock to relock), or, with no key, until `post_s` after now (a doorbell)."""

    request: ClipRequest
    key: str | None = None


@dataclass(frozen=True)
class StopFilm:
    """The hold ``key`` relocked: its clip goes on `post_s` more, then is stored."""

    key: str


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
    ConsumeJti
    | DriveLock
    | Emit
    | Capture
    | SharePhoto
    | ShareClip
    | Film
    | ProveCamera
    | Retain
    | CheckCode
)


@dataclass(frozen=True)
class Watch:
    """Watch the camera closely (``close``) while someone is let in: a frame older than a
    second is a camera fault, raised while the door is unlocked or open, not found later."""

    close: bool


Outward = (  # the Effects port's
    Capture | ProveCamera | CheckCode | Indicate | Sound | Watch | Film | StopFilm
)


@dataclass(frozen=True)
class Record:
    """What one step must make durable, in ONE transaction, before anything it decided is
    visible: the pass it used, the active deliveries when they changed, the photos it queues
    (before the events that announce them) and its events."""

    consume: ConsumeJti | None = None
    deliveries: tuple[Delivery, ...] | None = None  # None: unchanged (with the owner's hold)
    owner_hold: OwnerHold | None = None  # written with the deliveries, whole, when they are
    photos: tuple[SharePhoto, ...] = ()
    clips: tuple[ShareClip, ...] = ()  # queued with the photos, before their events
    events: tuple[Emit, ...] = ()
    retained: tuple[Retain, ...] = ()
    settings: Settings | None = None  # None: unchanged

    def __bool__(self) -> bool:
        return bool(
            self.consume
            or self.deliveries is not None
            or self.photos
            or self.clips
            or self.events
            or self.retained
            or self.settings is not None
        )


@dataclass(frozen=True)
class Transition:
    """One step of the machine. The core carries it out in this order: a relock at once (not
    even the disk comes first), then the record in one transaction, then an unlock (only once
    the pass is durably used), then the outward actions."""

    state: State
    record: Record = Record()
    lock: DriveLock | None = None
    actions: tuple[Outward, ...] = ()
