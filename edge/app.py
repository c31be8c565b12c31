"""The composition root of `doorstep run`: builds every part in a fixed order and stops them
in reverse. The lock is driven locked before anything talks to the network."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Callable

from edge import __version__
from edge.capture import CaptureWorker
from edge.config import Config
from edge.core import Core
from edge.inbox import Inbound, Inbox
from edge.crypto.verify import load_public_key
from edge.domain.model import (
    DoorbellPressed, DoorMoved, LockSensed, Now, Rules, State, UploadRejected,
)
from edge.domain.passes import PassPolicy
from edge.hardware.backends import Hardware, build_hardware
from edge.intake import MAX_ECHOED_NAME, PassIntake, screen
from edge.store.deliveries import DeliveryJournal
from edge.store.outbox import Outbox
from edge.store.photos import PhotoStore
from edge.store.replay import ReplayStore
from edge.systemd import Notifier, Watchdog
from edge.transport.http_upload import PhotoUploader
from edge.transport.mqtt import MqttLink
from edge.transport.pump import OutboxPump
from edge.transport.topics import Topics

log = logging.getLogger(__name__)

SHUTDOWN_BUDGET_S = 4.0


def rules_from(config: Config) -> Rules:
    d = config.delivery
    return Rules(in_home_enabled=d.in_home_enabled, unlock_timeout_s=d.unlock_timeout_s,
                 door_open_alarm_s=d.door_open_alarm_s, relock_delay_s=d.relock_delay_s,
                 lock_verify_s=d.lock_verify_s, open_photo_interval_s=d.photo_interval_s,
                 confirmation_photos=config.photos.confirmation_count)


def clock() -> Now:
    return Now(wall=time.time(), mono=time.monotonic())


def run(config: Config, stop: threading.Event | None = None,
        started: Callable[[Hardware], None] | None = None) -> int:
    """Run the daemon until ``stop`` is set (by default: until SIGTERM or SIGINT) and return
    the exit status. ``started`` is told the hardware once everything runs (tests use it)."""
    if stop is None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    inbox = Inbox()
    hardware = build_hardware(
        config,
        on_door=lambda is_open: inbox.put(DoorMoved(is_open)),
        on_doorbell=lambda: inbox.put(DoorbellPressed()),
        on_lock=lambda reading: inbox.put(LockSensed(reading)),
    )
    hardware.lock.drive(True)  # first act: fail secure before any input is heard
    inbox.put(LockSensed(hardware.lock.sensed()))
    log.info("event=starting version=%s device_id=%s backend=%s", __version__, config.device_id,
             config.hardware.backend)
    try:
        return _run_locked(config, hardware, inbox, stop, started)
    finally:
        hardware.lock.drive(True)  # whatever happened after the first act, end as it began
        hardware.close()


def _run_locked(config: Config, hardware: Hardware, inbox: Inbox,
                stop: threading.Event, started: Callable[[Hardware], None] | None) -> int:
    """Everything after the lock is driven locked: stores, the core loop, the broker link."""
    data_dir = config.storage.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    topics = Topics(config.mqtt.topic_prefix, config.device_id)

    replay = ReplayStore(data_dir / "replay.sqlite")
    outbox = Outbox(data_dir / "outbox.sqlite")
    storage = config.storage
    photos = PhotoStore(data_dir / "photos", quota_bytes=int(storage.photos_quota_mb * 1e6),
                        retention_s=storage.photo_retention_days * 86400,
                        is_pending=outbox.is_pending)
    journal = DeliveryJournal(data_dir / "deliveries.json")
    security = config.security
    policy = PassPolicy(config.device_id, security.clock_skew_s, security.max_command_lifetime_s,
                        security.max_grant_lifetime_s)
    intake = PassIntake([load_public_key(p) for p in security.trusted_keys], policy, replay,
                        hardware.clock_synced)
    capture = CaptureWorker(hardware.camera, photos, inbox.put,
                            max_bytes=config.mqtt.max_payload_bytes)
    notifier = Notifier()
    broker = f"{config.mqtt.host}:{config.mqtt.port}"
    # The link, the pump and the core refer to each other only through these late-bound
    # callbacks; nothing runs until every part exists.
    link = MqttLink(
        config, topics, subscribe_sim=hardware.world is not None,
        on_message=lambda topic, payload: _route(topics, inbox, topic, payload),
        on_ack=lambda mid, ok: pump.acknowledged(mid, ok),
        on_status=notifier.status,
    )
    pump = OutboxPump(outbox, link)
    uploader = None
    if config.photos.transport == "http":
        uploader = PhotoUploader(
            outbox, token_file=config.photos.http_token_file, ca_file=config.photos.http_ca_file,
            on_rejected=lambda entry, status: inbox.put(
                UploadRejected(*PhotoStore.identify(entry.file), status)))
    core = Core(
        inbox=inbox, topics=topics, rules=rules_from(config),
        state=State(deliveries=journal.load(), door_open=hardware.door.is_open(),
                    clock_synced=hardware.clock_synced()),
        intake=intake, replay=replay, outbox=outbox, photos=photos, journal=journal,
        lock=hardware.lock, capture=capture, world=hardware.world, publish_state=link.set_state,
        clock_skew_s=security.clock_skew_s, clock=clock, heartbeat=Watchdog(notifier).beat,
        clock_synced=hardware.clock_synced,
        upload_url=config.photos.http_url if uploader is not None else None,
        outbox_quota_bytes=int(storage.outbox_quota_mb * 1e6),
    )

    core_thread = threading.Thread(target=core.run, name="core", daemon=True)
    core_thread.start()
    if core.alive.wait(timeout=10):  # the lock is driven locked and the loop runs
        notifier.ready(f"locked; connecting to broker {broker}")
    capture.start()
    pump.start()
    if uploader is not None:
        uploader.start()
    link.start()
    if started is not None:
        started(hardware)
    try:
        while not stop.wait(timeout=1.0):
            if not core_thread.is_alive():
                log.error("event=core_died detail=exiting so the supervisor restarts us")
                return 1
        return 0
    finally:
        log.info("event=stopping")
        notifier.stopping()
        core.stop()
        core_thread.join(timeout=SHUTDOWN_BUDGET_S / 2)
        hardware.lock.drive(True)  # again, before the network, in case the loop was stuck
        capture.stop()
        link.stop(timeout=SHUTDOWN_BUDGET_S / 4)
        pump.stop()
        if uploader is not None:
            uploader.stop()
        replay.close()
        outbox.close()
        log.info("event=stopped")


def _route(topics: Topics, inbox: Inbox, topic: str, payload: bytes) -> None:
    """On the broker link's thread: queue what may be a command, tally what cannot be one."""
    parsed = topics.parse_inbound(topic)
    if parsed is None:
        log.warning("event=unexpected_topic topic=%s", topic)
        return
    kind, name = parsed
    junk = screen(name, payload) if kind == "cmd" else None
    if junk is not None:
        inbox.put_junk(name[:MAX_ECHOED_NAME], junk)
    else:
        inbox.put(Inbound(kind, name, payload))
