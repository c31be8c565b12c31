"""The composition root of `doorstep run`: builds every part in a fixed order and stops them
in reverse, each stop isolated from the others (an ExitStack). The lock is driven locked
before anything talks to the network, and again on the way out."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Protocol

from edge import __version__
from edge.config import Config
from edge.contract.topics import Topics
from edge.crypto.device_key import load_or_create, mqtt_client_id, public_pem
from edge.crypto.verify import load_public_key
from edge.domain.model import (
    DoorbellPressed,
    DoorMoved,
    LockSensed,
    Rules,
    UploadRejected,
)
from edge.domain.passes import PassPolicy, Reason
from edge.hardware.backends import Hardware, build_hardware
from edge.hardware.video import VideoFormat
from edge.journal.systemd import Notifier, StatusLine, Watchdog
from edge.loop.core import Core
from edge.loop.effects import DeviceEffects
from edge.loop.executor import Ports
from edge.loop.housekeeping import Housekeeper, Upkeep
from edge.loop.inbox import Inbox
from edge.loop.intake import PassIntake, commands
from edge.store import reserve
from edge.store.instance import claim, refuse_links
from edge.store.outbox import Outbox
from edge.store.photos import PhotoStore
from edge.store.receipts import Receipts
from edge.transport.homeassistant import discovery_payload, discovery_topic
from edge.transport.inbound import Handler as InboundHandler
from edge.transport.inbound import InboundRouter
from edge.transport.mqtt import Announcement, LinkHooks, MqttLink
from edge.wiring import CoreHooks, PhotoLimits, open_stores
from edge.workers.capture import CaptureWorker, PhotoMaking
from edge.workers.live_view import LiveSettings, LiveView, live_view
from edge.workers.pump import OutboxPump
from edge.workers.recorder import Recorder, VideoMaking
from edge.workers.routes import CHUNK_BYTES, PhotoRoutes

log = logging.getLogger(__name__)

SHUTDOWN_BUDGET_S = 4.0


def rules_from(config: Config) -> Rules:
    d = config.delivery
    return Rules(
        in_home_enabled=d.in_home_enabled,
        unlock_timeout_s=d.unlock_timeout_s,
        door_open_alarm_s=d.door_open_alarm_s,
        relock_delay_s=d.relock_delay_s,
        lock_verify_s=d.lock_verify_s,
        open_photo_interval_s=d.photo_interval_s,
        confirmation_photos=config.photos.confirmation_count,
        owner_unlock=config.owner.unlock_code_hash is not None,
        drop_zone=config.delivery.drop_zone is not None,
        lock_sensed=config.hardware.backend == "sim"  # the sim's bolt always has one
        or config.hardware.pins.lock_sensor is not None,
        policy=config.policy.policy(),
        clips=config.video.clips,
        clip_post_s=config.video.post_s,
    )


def run(
    config: Config,
    stop: threading.Event | None = None,
    started: Callable[[Hardware], None] | None = None,
) -> int:
    """Run the daemon until ``stop`` is set (by default: until SIGTERM or SIGINT) and return
    the exit status. ``started`` is told the hardware once everything runs (tests use it)."""
    if stop is None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    with claim(config.storage.data_dir):  # before the pins: they may be another's
        return _run_claimed(config, stop, started)


def _run_claimed(
    config: Config, stop: threading.Event, started: Callable[[Hardware], None] | None
) -> int:
    inbox = Inbox()
    hardware = build_hardware(
        config,
        on_door=lambda is_open: inbox.put(DoorMoved(is_open)),
        on_doorbell=lambda: inbox.put(DoorbellPressed()),
        on_lock=lambda reading: inbox.put(LockSensed(reading)),
    )
    hardware.lock.drive(True)  # first act: fail secure before any input is heard
    inbox.put(LockSensed(hardware.lock.sensed()))
    log.info(
        "event=starting version=%s device_id=%s backend=%s",
        __version__,
        config.device_id,
        config.hardware.backend,
    )
    with ExitStack() as parts:
        parts.callback(hardware.close)
        parts.callback(hardware.lock.drive, True)  # whatever happened, end as it began
        return _run_locked(config, hardware, inbox, stop, started, parts)


def _run_locked(
    config: Config,
    hardware: Hardware,
    inbox: Inbox,
    stop: threading.Event,
    started: Callable[[Hardware], None] | None,
    parts: ExitStack,
) -> int:
    """Everything after the lock is driven locked: stores, the core loop, the broker link.
    Each part registers its own stop as it starts; they run in reverse, whatever fails."""
    topics = Topics(config.mqtt.topic_prefix, config.device_id)
    storage, security = config.storage, config.security
    refuse_links(storage.data_dir)  # once the lock is locked, before anything there is opened
    reserve.release_if_full(storage.data_dir)
    stores = open_stores(
        storage.data_dir,
        PhotoLimits(
            quota_bytes=int(storage.photos_quota_mb * 1e6),
            retention_s=storage.photo_retention_days * 86400,
            private_retention_s=config.privacy.confidential_retention_days * 86400,
        ),
    )
    parts.callback(stores.db.close)
    db, outbox, replay, photos = stores.db, stores.outbox, stores.replay, stores.photos
    policy = PassPolicy(
        config.device_id,
        security.clock_skew_s,
        security.max_command_lifetime_s,
        security.max_grant_lifetime_s,
    )
    intake = PassIntake(
        [(load_public_key(path), signer) for path, signer in security.signers()],
        policy,
        replay,
        hardware.clock_synced,
    )
    notifier = Notifier()
    broker = f"{config.mqtt.host}:{config.mqtt.port}"
    status = StatusLine(notifier, f"locked; connecting to broker {broker}")
    capture = CaptureWorker(
        hardware.camera,
        photos,
        inbox.put,
        making=PhotoMaking(
            max_bytes=config.mqtt.max_payload_bytes,
            quality=config.hardware.camera.jpeg_quality,
            masks=config.privacy.masks,
            drop_zone=config.delivery.drop_zone,
        ),
        camera_fix=hardware.camera_fix,
    )
    recorder, live_view = _video(config, hardware, photos, inbox)
    uploader = None
    if config.photos.transport == "http":
        from edge.workers.http_upload import PhotoUploader  # noqa: PLC0415 - only then

        uploader = PhotoUploader(
            outbox,
            token_file=config.photos.http_token_file,
            ca_file=config.photos.http_ca_file,
            on_rejected=lambda entry, status: inbox.put(
                UploadRejected(*PhotoStore.identify(entry.file or Path()), status)
            ),
        )
    routes = PhotoRoutes(
        topics,
        photos,
        config.photos.http_url if uploader else None,
        chunk_bytes=min(CHUNK_BYTES, config.mqtt.max_payload_bytes),
    )
    device_key = load_or_create(storage.data_dir)
    ledger = stores.ledger(
        topics, routes, Receipts(device_key, config.device_id), clip_target=routes.clip
    )
    with db.transaction() as conn:  # announced at every start: a broker may have lost it
        announced = Outbox.queue_retained(
            conn, topics.device_key, public_pem(device_key).encode("ascii")
        )
    outbox.added(*announced)
    # The link, the pump and the core refer to each other only through these late-bound
    # callbacks; nothing runs until every part exists.
    ha = config.homeassistant
    link = MqttLink(
        config.mqtt,
        topics,
        client_id=mqtt_client_id(config.device_id, device_key),
        hooks=LinkHooks(
            on_message=InboundRouter(topics, _handlers(inbox, hardware, capture)),
            on_ack=lambda mid, ok: pump.acknowledged(mid, ok),
            on_status=status.link,
        ),
        subscriptions=[topics.simulator] if hardware.world is not None else [],
        # With Home Assistant off, an empty discovery removes what an earlier config announced.
        announcements=[
            Announcement(
                discovery_topic(config),
                discovery_payload(config, topics),
                ha.status_topic if ha.enabled else None,
            )
        ],
    )
    pump = OutboxPump(outbox, link)
    housekeeper = Housekeeper(
        inbox=inbox,
        stores=stores,
        clock=hardware.clock,
        upkeep=Upkeep(
            device_id=config.device_id,
            snapshot_prefix=topics.snapshot(""),
            clock_skew_s=security.clock_skew_s,
            outbox_quota_bytes=int(storage.outbox_quota_mb * 1e6),
            history_retention_s=storage.photo_retention_days * 86400,
        ),
        keep_reserve=lambda: reserve.keep(storage.data_dir),
    )
    core = stores.core(
        Ports(
            intake=intake,
            ledger=ledger,
            lock=hardware.lock,
            effects=DeviceEffects(
                capture,
                hardware.signals,
                code_hash=config.owner.unlock_code_hash,
                submit=inbox.put,
                recorder=recorder,
            ),
            publish_state=_publish_state(status, link),
        ),
        rules_from(config),
        inbox=inbox,
        hooks=CoreHooks(heartbeat=Watchdog(notifier).beat, on_tick=housekeeper.on_tick),
        door_open=hardware.door.is_open(),
        clock_synced=hardware.clock_synced(),
    )

    core_thread = threading.Thread(target=core.run, name="core", daemon=True)
    # The way out, registered before anything starts (each stop is safe on a part that never
    # started), runs in reverse: say so, stop the core (it relocks and publishes the final
    # state while the link is still up), the camera, the link (`offline`), the senders.
    for part in (
        pump.stop,
        *([uploader.stop] if uploader else []),
        lambda: link.stop(SHUTDOWN_BUDGET_S / 4),
        capture.stop,
        *([recorder.stop] if recorder else []),
        *([live_view.stop] if live_view else []),
    ):
        parts.callback(part)
    parts.callback(_stop_core, core, core_thread, hardware)
    parts.callback(_stopping, notifier)

    core_thread.start()
    if core.alive.wait(timeout=10):  # the lock is driven locked and the loop runs
        notifier.ready(status.line)
    workers: dict[str, _Worker | None] = {  # video first: the camera opens once, with it
        "live view": live_view,
        "video recorder": recorder,
        "camera": capture,
        "outbox pump": pump,
        "photo uploader": uploader,
    }
    running = {name: worker for name, worker in workers.items() if worker is not None}
    for worker in running.values():
        worker.start()
    link.start()
    if started is not None:
        started(hardware)
    threads = {"core": core_thread.is_alive, "broker link": link.alive}
    threads.update({name: worker.alive for name, worker in running.items()})
    return _supervise(stop, threads)


class _Worker(Protocol):
    def start(self) -> None: ...
    def alive(self) -> bool: ...


def _supervise(stop: threading.Event, threads: dict[str, Callable[[], bool]]) -> int:
    """Until told to stop: a part that died (a bug ended its thread) ends the daemon, so the
    supervisor restarts it, locked first, rather than it going on quietly without that part."""
    while not stop.wait(timeout=1.0):
        dead = [name for name, alive in threads.items() if not alive()]
        if dead:
            log.error(
                'event=part_died part="%s" detail="exiting so the supervisor restarts '
                'doorstep, which drives the lock locked first"',
                ", ".join(dead),
            )
            return 1
    return 0


def _video(
    config: Config, hardware: Hardware, photos: PhotoStore, inbox: Inbox
) -> tuple[Recorder | None, LiveView | None]:
    """The recorder (clips, and the live view's frames) and the live view, as configured."""
    video, live = config.video, config.live
    view = None
    if live.enabled:
        assert live.username is not None and live.password_file is not None  # the config's rule
        password = live.password_file.read_text(encoding="utf-8").strip()
        view = live_view(LiveSettings(live.bind, live.port, live.path, live.username, password))
    if not video.clips and view is None:
        return None, None
    source = hardware.video(VideoFormat(video.fps, video.width, video.height, config.privacy.masks))
    making = VideoMaking(video.pre_s, video.post_s, video.max_s, clips=video.clips)
    return Recorder(source, photos, inbox.put, making, live=view), view


def _handlers(
    inbox: Inbox, hardware: Hardware, capture: CaptureWorker
) -> dict[str, InboundHandler]:
    handlers = commands(inbox)
    if hardware.world is None:
        return handlers  # the Pi: no simulated world to play
    from edge.hardware.sim import SimInbound  # noqa: PLC0415 - the sim backend only

    handlers["sim"] = SimInbound(
        hardware.world,
        on_camera=capture.probe_now,
        refuse=lambda name: inbox.put_junk(name, Reason.MALFORMED),
    )
    return handlers


def _publish_state(status: StatusLine, link: MqttLink) -> Callable[[bytes], None]:
    """The retained `state` goes to the broker, and what it shows failing to systemd's STATUS."""

    def publish(body: bytes) -> None:
        status.shown(body)
        link.set_state(body)

    return publish


def _stopping(notifier: Notifier) -> None:
    log.info("event=stopping")
    notifier.stopping()


def _stop_core(core: Core, thread: threading.Thread, hardware: Hardware) -> None:
    """The core relocks on its way out; the lock is driven again in case its loop was stuck,
    before anything that talks to the network is stopped."""
    core.stop()
    thread.join(timeout=SHUTDOWN_BUDGET_S / 2)
    hardware.lock.drive(True)
    log.info("event=stopped")
