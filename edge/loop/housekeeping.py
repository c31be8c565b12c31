"""What the core does on a Tick besides the machine's deadlines: notice the clock's sync and
the outbox's quota (as inputs for the machine), say what the inbox dropped, and once an hour
prune old passes, photos and history and compact the database. None of it writes while idle."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from edge.domain.model import ClockChecked, Input, Now, State, StorageHealth
from edge.hardware.clock import ClockSync
from edge.journal.failures import expected
from edge.journal.fault_log import FaultLog
from edge.journal.throttle import Throttle
from edge.loop.inbox import Inbox
from edge.store.history import DeliveryHistory
from edge.store.notes import DeliveryNotes
from edge.wiring import Stores

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
DROPPED_REPORT_EVERY_S = 60.0
CLOCK_STOPS = "every pass is refused (clock_unsynced): its times cannot be checked"
CLOCK_FIX = "enable time sync (timedatectl set-ntp true, or install chrony) and check the network"
QUOTA_CHECK_FIX = (
    "free space on the data dir's disk: the outbox is over its quota and its "
    "queued snapshots cannot be dropped to make room"
)


@dataclass(frozen=True)
class Upkeep:
    """What housekeeping keeps to (config `[storage]` and `[security]`)."""

    device_id: str
    snapshot_prefix: str  # the snapshots' topic prefix: queued snapshots may be dropped
    outbox_quota_bytes: int | None
    clock_skew_s: float
    history_retention_s: float


class Housekeeper:
    def __init__(
        self,
        *,
        inbox: Inbox,
        stores: Stores,
        clock: Callable[[], ClockSync],
        upkeep: Upkeep,
        keep_reserve: Callable[[], None] = lambda: None,
    ) -> None:
        self._inbox = inbox
        self._db = stores.db
        self._outbox = stores.outbox
        self._replay = stores.replay
        self._photos = stores.photos
        self._clock = clock
        self._device_id = upkeep.device_id
        self._snapshot_prefix = upkeep.snapshot_prefix
        self._quota = upkeep.outbox_quota_bytes
        self._skew = upkeep.clock_skew_s
        self._history_retention = upkeep.history_retention_s
        self._keep_reserve = keep_reserve  # the room kept for a start on a full disk
        self._clock_log = FaultLog("clock", CLOCK_STOPS, CLOCK_FIX, log)
        self._dropped = Throttle(DROPPED_REPORT_EVERY_S)
        self._quota_failures = Throttle(DROPPED_REPORT_EVERY_S)
        self._next_prune = 0.0

    def on_tick(self, state: State, now: Now) -> list[Input]:
        inputs: list[Input] = []
        sync = self._clock()
        if sync.synced != state.clock_synced:
            inputs.append(ClockChecked(sync.synced))
        self._say_clock(sync, now.mono)
        over = self._outbox_over_quota(now.mono)
        if over is not None and over != ("outbox" in state.storage_full):
            inputs.append(StorageHealth("outbox", not over))
        self._report_dropped(now.mono)
        self._prune(now.wall)
        return inputs

    def _say_clock(self, sync: ClockSync, now: float) -> None:
        """Said in the journal (systemd's STATUS says it from the state: clock unsynced), with
        who said so: the kernel, or why it could not be asked (the unit's sandbox)."""
        if sync.synced:
            self._clock_log.ok(now)
        else:
            self._clock_log.failed(f"not synchronised: {sync.how}", now)

    def _outbox_over_quota(self, now: float) -> bool | None:
        """Over quota (a broker away for long): queued doorbell snapshots go first; events and
        delivery photos are never dropped, but the homeowner hears the disk is filling."""
        if self._quota is None:
            return None
        try:
            over = self._outbox.queued_bytes() > self._quota
            if over and self._outbox.drop_snapshots(self._snapshot_prefix):
                log.warning("event=outbox_snapshots_dropped detail=outbox over its quota")
                over = self._outbox.queued_bytes() > self._quota
            return over
        except Exception as exc:  # checked every second: said once a minute, with a count
            if self._quota_failures.due(now):
                log.error(
                    'event=outbox_quota_check_failed error="%s" failures=%s fix="%s"',
                    exc,
                    self._quota_failures.take(),
                    QUOTA_CHECK_FIX,
                    exc_info=not expected(exc),
                )
            return None

    def _report_dropped(self, now: float) -> None:
        dropped = self._inbox.take_dropped()
        if (dropped or self._dropped.pending) and self._dropped.due(now, dropped):
            log.warning(
                'event=inbound_dropped count=%s detail="the broker sent more messages '
                'than the device can check; the excess was dropped" fix="find what '
                "floods doorstep/%s/cmd/# (the broker's ACL decides who may write it)\"",
                self._dropped.take(),
                self._device_id,
            )

    def _prune(self, now: float) -> None:
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY_S
        try:
            self._outbox.recount()
            self._replay.prune(now - self._skew)
            pruned = self._photos.prune(now)
            if pruned:
                log.info("event=photos_pruned count=%s detail=past the retention setting", pruned)
            with self._db.transaction() as conn:
                DeliveryHistory.prune(conn, now - self._history_retention)
                DeliveryNotes.forget_finished(conn)
            self._db.compact()
            self._keep_reserve()
        except Exception as exc:
            log.warning("event=prune_failed error=%s", exc, exc_info=not expected(exc))
