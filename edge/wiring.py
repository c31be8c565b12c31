"""One place opens a device's data dir and builds its core: the database and the stores over
it, the ledger that writes each step, the state the core starts from, and the core loop itself.
`doorstep run` (edge.app), the simulated fleet's devices, the benchmarks and the tests build
them here, so they run the same parts the same way."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.contract.topics import Topics
from edge.domain.model import Input, Now, Rules, State
from edge.loop.core import Core
from edge.loop.executor import Ports
from edge.loop.inbox import Inbox
from edge.store.db import Database, open_store
from edge.store.deliveries import DeliveryJournal
from edge.store.ledger import ClipTarget, Ledger, PhotoTarget
from edge.store.outbox import Outbox
from edge.store.photos import PhotoStore
from edge.store.receipts import Receipts
from edge.store.replay import ReplayStore
from edge.store.settings import SettingsStore


def now() -> Now:
    """The two clocks, read now: the wall clock for passes, the monotonic one for timers."""
    return Now(wall=time.time(), mono=time.monotonic())


@dataclass(frozen=True)
class CoreHooks:
    """What the core calls besides its ports: systemd's watchdog after every turn, and the
    housekeeping on every Tick (which may hand back inputs for the machine)."""

    heartbeat: Callable[[], None] = lambda: None
    on_tick: Callable[[State, Now], list[Input]] = lambda state, now: []


@dataclass(frozen=True)
class PhotoLimits:
    """Config `[storage]` and `[privacy]`: how much photo space, and how long photos stay."""

    quota_bytes: int | None = None
    retention_s: float | None = None
    private_retention_s: float | None = None


@dataclass(frozen=True)
class Stores:
    """The data dir's stores, all over its one database (photos are files beside it)."""

    db: Database
    outbox: Outbox
    replay: ReplayStore
    photos: PhotoStore

    def ledger(
        self,
        topics: Topics,
        photo_target: PhotoTarget,
        receipts: Receipts | None,
        clip_target: ClipTarget | None = None,
    ) -> Ledger:
        """What writes each step's record, in one transaction of the database."""
        return Ledger(
            self.db,
            self.outbox,
            topics=topics,
            photo_target=photo_target,
            receipts=receipts,
            clip_target=clip_target,
        )

    def core(
        self,
        ports: Ports,
        rules: Rules,
        *,
        inbox: Inbox | None = None,
        clock: Callable[[], Now] = now,
        hooks: CoreHooks = CoreHooks(),
        door_open: bool = False,
        clock_synced: bool = True,
    ) -> Core:
        """The core loop over these stores, from the state they hold and what the door and
        the clock say now."""
        return Core(
            inbox=Inbox() if inbox is None else inbox,
            rules=rules,
            state=self.state(door_open, clock_synced),
            ports=ports,
            clock=clock,
            heartbeat=hooks.heartbeat,
            on_tick=hooks.on_tick,
        )

    def state(self, door_open: bool = False, clock_synced: bool = True) -> State:
        """Where the core starts: the deliveries and the homeowner's hold as they were saved,
        the homeowner's settings, and what the door and the clock say now."""
        journal = DeliveryJournal(self.db)
        return State(
            deliveries=journal.load(),
            owner_hold=journal.load_owner_hold(),
            door_open=door_open,
            clock_synced=clock_synced,
            settings=SettingsStore(self.db).load(),
        )


def open_stores(data_dir: Path, limits: PhotoLimits = PhotoLimits()) -> Stores:
    db = open_store(data_dir)
    outbox = Outbox(db)
    photos = PhotoStore(
        data_dir / "photos",
        quota_bytes=limits.quota_bytes,
        retention_s=limits.retention_s,
        private_retention_s=limits.private_retention_s,
        is_pending=outbox.is_pending,
    )
    return Stores(db, outbox, ReplayStore(db), photos)
