"""The core loop: one queue, one thread. It feeds inputs to the pure domain and carries out the
actions it returns. paho, gpiozero and the camera worker only enqueue; nothing else decides.

Deadlines need no timer thread: a due deadline is handled before anything queued, and the loop
wakes at least every second, so a jump of the wall clock is noticed promptly too.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from edge import __version__
from edge.capture import CaptureWorker, rfc3339
from edge.domain import machine
from edge.domain.model import (
    Action, Capture, ClockChecked, ConsumeJti, DriveLock, Emit, Input, LockSensed, Now,
    PassRejected, PassVerified, ProveCamera, Rules, SharePhoto, State, StorageHealth, Tick,
)
from edge.domain.passes import Rejection
from edge.hardware import Lock
from edge.inbox import Inbound, Inbox, Junk
from edge.intake import PassIntake
from edge.store.deliveries import DeliveryJournal
from edge.store.outbox import Outbox
from edge.store.photos import PhotoStore
from edge.store.replay import ReplayStore
from edge.throttle import Throttle
from edge.transport.topics import Topics

log = logging.getLogger(__name__)

MAX_WAIT_S = 1.0
PRUNE_EVERY_S = 3600.0
DROPPED_REPORT_EVERY_S = 60.0


_STOP = object()


class Core:
    def __init__(self, *, inbox: Inbox, topics: Topics, rules: Rules, state: State, intake: PassIntake,
                 replay: ReplayStore, outbox: Outbox, photos: PhotoStore,
                 journal: DeliveryJournal, lock: Lock, capture: CaptureWorker, world: Any,
                 publish_state: Callable[[bytes], None], clock_skew_s: float,
                 clock: Callable[[], Now], heartbeat: Callable[[], None] = lambda: None,
                 clock_synced: Callable[[], bool] = lambda: True,
                 upload_url: str | None = None, outbox_quota_bytes: int | None = None) -> None:
        self.inbox = inbox
        self.state = state
        self._topics = topics
        self._rules = rules
        self._intake = intake
        self._replay = replay
        self._outbox = outbox
        self._photos = photos
        self._journal = journal
        self._lock = lock
        self._capture = capture
        self._world = world
        self._publish_state = publish_state
        self._skew = clock_skew_s
        self._now = clock
        self._heartbeat = heartbeat
        self._clock_synced = clock_synced
        self._upload_url = upload_url  # delivery photos go by HTTPS PUT when set
        self._outbox_quota = outbox_quota_bytes
        self._shown: dict[str, Any] | None = None
        self._next_prune = 0.0
        self._dropped = Throttle(DROPPED_REPORT_EVERY_S)
        self.alive = threading.Event()

    def stop(self) -> None:
        self.inbox.put(_STOP)

    def run(self) -> None:
        """Run until stop(); whatever happens, leave the lock driven locked."""
        try:
            now = self._now()
            before = self.state
            self.state, actions = machine.resume(before, now, self._rules)
            self._save_deliveries(before)
            self._execute(actions, now)
            self._show_state(now)
            self.alive.set()
            while True:
                self._heartbeat()  # from this loop only: if it is stuck, the watchdog fires
                item = self._next_item()
                if item is _STOP:
                    return
                try:
                    self._handle(item)
                except Exception:
                    log.exception("event=core_input_failed input=%r", type(item).__name__)
        finally:
            self.alive.clear()
            self._relock_for_exit()

    def _relock_for_exit(self) -> None:
        """Drive the lock locked and let the retained state say so before `offline` goes out.
        A delivery that held the door is finished `interrupted` at the next start."""
        self._lock.drive(True)
        log.info("event=lock_driven target=locked reason=stopping")
        try:
            self._apply(LockSensed(self._lock.sensed()), self._now())
        except Exception:
            log.exception("event=final_state_not_published")

    def _next_item(self) -> Any:
        """A due deadline comes before anything queued: however busy the queue (a flood of
        messages, say), a relock is never starved."""
        wake = machine.next_wake(self.state, self._now())
        if wake is not None and wake <= 0:
            return Tick()
        try:
            return self.inbox.get(timeout=MAX_WAIT_S if wake is None else min(MAX_WAIT_S, wake))
        except queue.Empty:
            return Tick()

    def _handle(self, item: Input | Inbound | Junk) -> None:
        now = self._now()
        if isinstance(item, Junk):
            for cmd, reason, count in item.tally:
                self._apply(PassRejected(Rejection(cmd, reason), count), now)
            return
        if isinstance(item, Inbound):
            event = self._admit(item, now.wall)
            if event is None:
                return
        else:
            event = item
        if isinstance(event, Tick):
            self._report_dropped(now.mono)
            self._prune(now.wall)
            synced = self._clock_synced()
            if synced != self.state.clock_synced:
                self._apply(ClockChecked(synced), now)
        self._apply(event, now)

    def _admit(self, item: Inbound, now: float) -> Input | None:
        if item.kind == "cmd":
            return self._intake.admit(item.name, item.payload, now)
        text = item.payload.decode("utf-8", errors="replace").strip()
        if self._world is not None and self._world.apply(item.name, text):
            log.info("event=sim_applied topic=sim/%s payload=%s", item.name, text)
            if item.name == "camera":
                self._capture.probe_now()
            return None
        return PassRejected(Rejection(f"sim/{item.name}"[:64], "malformed"))

    def _apply(self, event: Input, now: Now) -> None:
        before = self.state
        after, actions = machine.step(before, event, now, self._rules)
        if actions and isinstance(actions[0], ConsumeJti):
            consume = actions[0]
            try:
                self._replay.consume(consume.jti, consume.exp)
            except Exception as exc:  # never act on a pass we could not mark as used...
                log.error("event=jti_not_recorded jti=%s error=%s", consume.jti, exc)
                if DriveLock(True) in actions:
                    self._drive(True)  # ...except to relock, which is always safe
                cmd = event.pass_.cmd if isinstance(event, PassVerified) else "unknown"
                self._apply(PassRejected(Rejection(cmd, "storage_error", consume.jti)), now)
                return
            actions = actions[1:]
        self.state = after
        # Relock first: not even the disk stands between that decision and the relay.
        relock = DriveLock(True)
        if relock in actions:
            self._drive(True)
        # Then record the deliveries, so that an unlock below can always be recovered from.
        self._save_deliveries(before)
        self._execute([a for a in actions if a != relock], now)
        if any(isinstance(a, (Emit, SharePhoto)) for a in actions):
            self._check_outbox_quota(now)
        self._show_state(now)

    def _report_dropped(self, now: float) -> None:
        dropped = self.inbox.take_dropped()
        if (dropped or self._dropped.pending) and self._dropped.due(now, dropped):
            log.warning("event=inbound_dropped count=%s detail=\"the broker sent more messages "
                        "than the device can check; the excess was dropped\" fix=\"find what "
                        "floods doorstep/%s/cmd/# (the broker's ACL decides who may write it)\"",
                        self._dropped.take(), self._topics.device_id)

    def _check_outbox_quota(self, now: Now) -> None:
        """Over quota (a broker away for long): queued doorbell snapshots go first; events and
        delivery photos are never dropped, but the homeowner hears the disk is filling."""
        if self._outbox_quota is None:
            return
        try:
            over = self._outbox.queued_bytes() > self._outbox_quota
            if over and self._outbox.drop_snapshots(self._topics.snapshot("")):
                log.warning("event=outbox_snapshots_dropped detail=outbox over its quota")
        except Exception as exc:
            log.error("event=outbox_quota_check_failed error=%s", exc)
            return
        if over != ("outbox" in self.state.storage_full):
            self._apply(StorageHealth("outbox", not over), now)

    def _save_deliveries(self, before: State) -> None:
        if self.state.deliveries == before.deliveries:
            return
        try:
            self._journal.save(self.state.deliveries)
        except Exception as exc:
            log.error("event=journal_not_saved error=%s", exc)

    def _drive(self, locked: bool) -> None:
        self._lock.drive(locked)
        log.info("event=lock_driven target=%s", "locked" if locked else "unlocked")
        self.inbox.put(LockSensed(self._lock.sensed()))  # a lock without a sensor reads its relay

    def _execute(self, actions: list[Action], now: Now) -> None:
        for action in actions:
            try:
                if isinstance(action, DriveLock):
                    self._drive(action.locked)
                elif isinstance(action, Emit):
                    self._emit(action, now)
                elif isinstance(action, Capture):
                    self._capture.request(action.request)
                elif isinstance(action, SharePhoto):
                    self._share(action)
                elif isinstance(action, ProveCamera):
                    self._capture.prove(action)
            except Exception as exc:  # a full disk (OSError, sqlite3.Error) must not stop the rest
                log.error("event=action_failed action=%r error=%s", action, exc)

    def _emit(self, action: Emit, now: Now) -> None:
        body = {
            "id": uuid.uuid4().hex, "ts": rfc3339(datetime.fromtimestamp(now.wall, timezone.utc)),
            "type": action.type, "device_id": self._topics.device_id,
            "delivery_id": action.delivery_id, **action.fields,
        }
        seq = self._outbox.add_event(
            self._topics.events, lambda seq: json.dumps({**body, "seq": seq}).encode())
        details = " ".join(f"{k}={v}" for k, v in action.fields.items() if k != "courier")
        log.info("event=%s seq=%s delivery_id=%s %s", action.type, seq, action.delivery_id, details)

    def _share(self, action: SharePhoto) -> None:
        path = self._photos.path(action.photo_id, action.delivery_id)
        if action.delivery_id is None:
            self._outbox.add_file(self._topics.snapshot(action.photo_id), path)
        elif self._upload_url is not None:
            url = self._upload_url.format(device_id=self._topics.device_id,
                                          delivery_id=action.delivery_id, photo_id=action.photo_id)
            self._outbox.add_file(url, path, channel="http")
        else:
            self._outbox.add_file(self._topics.photo(action.delivery_id, action.photo_id), path)

    def _show_state(self, now: Now) -> None:
        shown = machine.public_state(self.state, self._rules)
        if shown == self._shown:
            return
        self._shown = shown
        body = {**shown, "version": __version__,
                "ts": rfc3339(datetime.fromtimestamp(now.wall, timezone.utc))}
        self._publish_state(json.dumps(body).encode())

    def _prune(self, now: float) -> None:
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY_S
        try:
            self._replay.prune(now - self._skew)
            self._outbox.compact()
            pruned = self._photos.prune(now)
            if pruned:
                log.info("event=photos_pruned count=%s detail=past the retention setting", pruned)
        except Exception as exc:
            log.warning("event=prune_failed error=%s", exc)
