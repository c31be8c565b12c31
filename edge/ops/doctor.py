"""`doorstep doctor`: check everything a delivery depends on, one line each with the fix."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from edge.config import Config
from edge.hardware import DEVICE_TREE
from edge.hardware.backends import build_hardware, clock_of
from edge.hardware.clock import TIMESYNCD_FLAG
from edge.hardware.h264 import H264Encoder
from edge.hardware.jpeg import masked_jpeg
from edge.ops.unit_file import UnitFile, syscall_policy
from edge.store.db import StoreTooNew
from edge.store.instance import holder
from edge.store.outbox import read_backlog
from edge.transport.mqtt import probe_broker
from edge.workers.live_view import GSTREAMER_FIX
from edge.workers.recorder import ENCODER_FIX

BACKLOG_WARN_COUNT = 100
BACKLOG_WARN_AGE_S = 3600
INSTALLED_UNIT = Path("/etc/systemd/system/doorstep.service")


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok" | "warn" | "FAIL"
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f"  -> {self.fix}" if self.fix and self.status != "ok" else ""
        return f"{self.status:<5} {self.name:<10} {self.detail}{fix}"


def _keys(config: Config) -> Check:
    count = len(config.security.trusted_keys)
    return Check("keys", "ok", f"{count} trusted Ed25519 key{'s' * (count != 1)}")


def _data_dir(config: Config) -> Check:
    folder = config.storage.data_dir
    probe = folder / f".doctor-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as handle:
            handle.write(b"probe")
            os.fsync(handle.fileno())
        probe.unlink()
    except OSError as exc:
        return Check(
            "data dir",
            "FAIL",
            f"{folder}: {exc.strerror or exc}",
            "create it writable for the doorstep user, or set storage.data_dir",
        )
    free = os.statvfs(folder)
    free_mb = free.f_bavail * free.f_frsize / 1e6
    if free_mb < 50:
        return Check(
            "data dir",
            "warn",
            f"{folder}: only {free_mb:.0f} MB free",
            "free disk space: photos and the outbox live here",
        )
    return Check("data dir", "ok", f"{folder} writable, {free_mb:.0f} MB free")


def _hardware(config: Config) -> list[Check]:
    """The pins and the camera, unless a running doorstep holds them: then they are its own,
    and not touched (a relay opened here could relock a courier's door)."""
    pid = holder(config.storage.data_dir)
    if pid is not None:
        return [
            Check(
                "gpio",
                "warn",
                f"not checked: doorstep (pid {pid}) is running and holds the pins and the camera",
                "stop it (sudo systemctl stop doorstep) to check them",
            )
        ]
    return _pins_and_camera(config)


def _clock(config: Config) -> Check:
    sync = clock_of(config)()
    return Check(
        "clock",
        "ok" if sync.synced else "FAIL",
        "synchronised" if sync.synced else f"not synchronised ({sync.how}): passes are rejected",
        "enable time sync: timedatectl set-ntp true (or install chrony)",
    )


def service_checks(
    unit_path: Path, timesync_flag: Path = TIMESYNCD_FLAG, device_tree: Path = DEVICE_TREE
) -> list[Check]:
    """What the service will meet that doctor, run outside its sandbox, would not: each
    setting of the installed unit that would stop it, named, with the fix."""
    try:
        unit = UnitFile.read(unit_path)
    except OSError as exc:
        return [
            Check(
                "service",
                "FAIL",
                f"{unit_path}: {exc.strerror or exc}",
                "reinstall the unit: sudo make install",
            )
        ]
    fix = "install the shipped unit (sudo make install) or mend the setting in a drop-in"
    checks = []
    if not any("relay-off" in line for line in unit.all("ExecStopPost")):
        checks.append(
            Check(
                "service",
                "FAIL",
                f"{unit_path}: ExecStopPost= does not run "
                "`doorstep relay-off`: after a crash while unlocked the strike "
                "stays energised until the next start",
                fix,
            )
        )
    if _refuses_adjtimex(unit) and not timesync_flag.exists():
        checks.append(
            Check(
                "service",
                "FAIL",
                f"{unit_path}: ProtectClock=/SystemCallFilter= refuse the clock "
                f"check's adjtimex read, and systemd-timesyncd has not written {timesync_flag}: "
                "every pass would be rejected clock_unsynced",
                "use systemd-timesyncd (sudo timedatectl set-ntp true); with chrony, add a drop-in "
                "with ProtectClock=no and SystemCallFilter=adjtimex (the unit keeps no "
                "CAP_SYS_TIME, so the clock still cannot be set)",
            )
        )
    if unit.get("ProcSubset") == "pid" and not (device_tree / "system").exists():
        checks.append(
            Check(
                "service",
                "FAIL",
                f"{unit_path}: ProcSubset=pid hides /proc's "
                f"board information and {device_tree} is missing: gpiozero cannot "
                "tell which Pi this is",
                "drop ProcSubset=pid in a drop-in",
            )
        )
    if unit.get("WorkingDirectory") is None and "LG_WD=" not in " ".join(unit.all("Environment")):
        checks.append(
            Check(
                "service",
                "warn",
                f"{unit_path}: no WorkingDirectory=: lgpio's "
                "notify FIFO goes to the data dir instead of the read-only /",
                fix,
            )
        )
    return checks or [
        Check(
            "service",
            "ok",
            f"{unit_path}: relay-off after every stop; clock, "
            "GPIO and board checks work under its sandbox",
        )
    ]


def _refuses_adjtimex(unit: UnitFile) -> bool:
    """Whether the unit's filters refuse adjtimex, by systemd's own group lists (an allow-list
    of @system-service alone refuses it). Without systemd-analyze to say, any filter counts."""
    policy = syscall_policy(unit)
    if policy is None:
        return unit.flag("ProtectClock") or bool(unit.all("SystemCallFilter"))
    return not policy.allows("adjtimex")


def _service(config: Config) -> list[Check]:
    """The installed unit's settings ($DOORSTEP_UNIT, else the one install.sh writes)."""
    path = Path(os.environ.get("DOORSTEP_UNIT", INSTALLED_UNIT))
    return service_checks(path) if path.exists() or "DOORSTEP_UNIT" in os.environ else []


def _pins_and_camera(config: Config) -> list[Check]:
    busy_hint = "stop doorstep first (systemctl stop doorstep): one process can hold them"
    try:
        hardware = build_hardware(
            config, on_door=lambda _: None, on_doorbell=lambda: None, on_lock=lambda _: None
        )
    except Exception as exc:  # noqa: BLE001 - whatever it is, it is this check's answer
        return [
            Check(
                "gpio",
                "FAIL",
                f"cannot open the pins: {exc}",
                f"check [hardware.pins] and that the user is in group gpio; {busy_hint}",
            )
        ]
    try:
        pins = config.hardware.pins
        door = "open" if hardware.door.is_open() else "closed"
        checks = [
            Check(
                "gpio",
                "ok",
                f"{config.hardware.backend} backend; relay "
                f"{pins.lock_relay}, door {pins.door_contact}, doorbell {pins.doorbell}; "
                f"lock reads {hardware.lock.sensed()}, door {door}",
            )
        ]
        try:
            frame = hardware.camera.capture()
            masks = config.privacy.masks
            jpeg = masked_jpeg(frame.image, masks, config.hardware.camera.jpeg_quality)
            masked = f", {len(masks)} privacy mask{'s' * (len(masks) != 1)}" if masks else ""
            checks.append(Check("camera", "ok", f"captured a {len(jpeg) // 1024} KiB JPEG{masked}"))
        except Exception as exc:  # noqa: BLE001 - whatever it is, it is this check's answer
            checks.append(
                Check(
                    "camera",
                    "FAIL",
                    str(exc),
                    "check the ribbon cable, the config.txt camera lines and group "
                    f"video; {busy_hint}",
                )
            )
        return checks
    finally:
        hardware.close()


def _broker(config: Config) -> Check:
    where = f"{'mqtts' if config.mqtt.tls else 'mqtt'}://{config.mqtt.host}:{config.mqtt.port}"
    problem = probe_broker(config)
    if problem is None:
        return Check("broker", "ok", f"{where} accepted a connection")
    return Check("broker", "FAIL", f"{where}: {problem.cause}: {problem.detail}", problem.fix)


def _outbox(config: Config) -> Check:
    try:
        backlog = read_backlog(config.storage.data_dir, time.time())
    except StoreTooNew as exc:
        return Check(
            "database",
            "FAIL",
            f"{exc.path}: written by a newer doorstep (schema {exc.version})",
            StoreTooNew.FIX,
        )
    except (sqlite3.Error, OSError) as exc:
        return Check(
            "database",
            "FAIL",
            f"{config.storage.data_dir}: {exc}",
            "run doctor as the user the daemon runs as; if it persists, restore the "
            "data dir from a backup",
        )
    if backlog is None or backlog.count == 0:
        return Check("outbox", "ok", "nothing waiting")
    age = backlog.oldest_age_s or 0
    detail = f"{backlog.count} waiting, oldest {age:.0f} s"
    stale = backlog.count > BACKLOG_WARN_COUNT or age > BACKLOG_WARN_AGE_S
    return Check(
        "outbox",
        "warn" if stale else "ok",
        detail,
        "the broker has not acknowledged these yet: check the broker check above",
    )


def _video(config: Config) -> list[Check]:
    """The encoder clips need, and the RTSP server the live view needs, when they are on."""
    video, live = config.video, config.live
    checks = []
    if video.clips:
        try:
            encoder = H264Encoder(video.width, video.height, video.fps)
            encoder.encode(Image.new("RGB", (video.width, video.height)), 1, 0)
            detail = f"H.264 encoder ready: {video.width}x{video.height} at {video.fps:g} fps"
            checks.append(Check("clips", "ok", detail))
        except (ImportError, ValueError, OSError) as exc:
            checks.append(Check("clips", "FAIL", f"no video encoder: {exc}", ENCODER_FIX))
        if config.hardware.backend == "pi":
            checks.append(_pi_encoder())
    if live.enabled:
        try:
            import gi  # noqa: PLC0415 - only a device with a live view needs GStreamer

            gi.require_version("GstRtspServer", "1.0")
            url = f"rtsp://{live.bind}:{live.port}/{live.path}, login {live.username}"
            checks.append(Check("live view", "ok", f"GStreamer's RTSP server found; {url}"))
        except (ImportError, ValueError) as exc:
            checks.append(Check("live view", "FAIL", str(exc), GSTREAMER_FIX))
    return checks or [Check("video", "ok", "clips off, live view off")]


def _pi_encoder() -> Check:
    from edge.hardware.pi_video import CODEC_DEVICE, hardware_encoder  # noqa: PLC0415

    why_not = hardware_encoder()
    if why_not is None:
        return Check("H.264 hardware", "ok", f"the Pi's encoder ({CODEC_DEVICE}) makes the clips")
    status = "warn" if CODEC_DEVICE.exists() else "ok"
    return Check("H.264 hardware", status, why_not, "add the doorstep user to group video")


def diagnose(config: Config, source: str) -> list[Check]:
    checks = [
        Check("config", "ok", f"{source} (device {config.device_id})"),
        _keys(config),
        _data_dir(config),
    ]
    steps: list[Callable[[Config], Check | list[Check]]] = [
        _hardware,
        _video,
        _clock,
        _service,
        _broker,
        _outbox,
    ]
    for step in steps:
        result = step(config)
        checks += result if isinstance(result, list) else [result]
    return checks
