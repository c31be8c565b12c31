"""`doorstep run | check-config | doctor | outbox | history | device-key | photos erase |
owner-code | broker-acl | relay-off | repair`: the daemon's command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from edge import __version__
from edge.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config

EXIT_CONFIG = 2
DATA_DIR_FIX = (
    "storage.data_dir must be a folder the daemon's user can write: run as that user "
    "(sudo -u doorstep), fix the folder's owner, or check that the disk is not "
    "read-only"
)


def _setup_logging(verbose: bool) -> None:
    """One line per record on stderr: journald adds the time, `key=value` pairs carry the rest."""
    from edge.journal.safe_text import OneLineFormatter  # noqa: PLC0415

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        OneLineFormatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    )
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    for noisy in ("amqtt", "transitions", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _summary(config: Config, path: Path) -> str:
    m, d = config.mqtt, config.delivery
    lines = [
        f"config {path}: ok",
        f"  device_id         {config.device_id}",
        f"  broker            {'mqtts' if m.tls else 'mqtt'}://{m.host}:{m.port} "
        f"(MQTT {m.protocol}, prefix {m.topic_prefix!r})",
        f"  trusted keys      {len(config.security.trusted_keys)}",
        f"  in-home delivery  {'enabled' if d.in_home_enabled else 'disabled'}",
        f"  hardware          {config.hardware.backend}",
        f"  photos            {config.photos.transport}",
        f"  home assistant    {'discovery on' if config.homeassistant.enabled else 'off'}",
        f"  owner unlock      {'on (code set)' if config.owner.unlock_code_hash else 'off'}",
        f"  data dir          {config.storage.data_dir}",
    ]
    return "\n".join(lines)


def _outbox_status(config: Config) -> str:
    import time  # noqa: PLC0415

    from edge.store.db import FILE_NAME  # noqa: PLC0415
    from edge.store.outbox import read_backlog  # noqa: PLC0415

    where = config.storage.data_dir / FILE_NAME
    backlog = read_backlog(config.storage.data_dir, time.time())
    if backlog is None:
        return f"outbox {where}: empty (nothing has been queued yet)"
    if backlog.count == 0:
        return f"outbox {where}: empty, everything was acknowledged"
    return (
        f"outbox {where}: {backlog.count} waiting ({backlog.photos} photos, "
        f"{backlog.bytes / 1024:.1f} KiB), oldest {backlog.oldest_age_s:.0f} s"
    )


def _erase(config: Config, delivery_id: str) -> str:
    from edge.contract.topics import Topics  # noqa: PLC0415
    from edge.store.erase import erase_delivery  # noqa: PLC0415

    erased = erase_delivery(
        config.storage.data_dir, Topics(config.mqtt.topic_prefix, config.device_id), delivery_id
    )
    clips = sum(name.endswith(".mp4") for name in erased)
    photos = len(erased) - clips
    said = f"{photos} photo{'s' * (photos != 1)}" + (
        f" and {clips} clip{'s' * (clips != 1)}" if clips else ""
    )
    return f"erased {said} of delivery {delivery_id}" + (
        ": photo.erased is queued for the cloud" if erased else ""
    )


def _on_store(config: Config, command: Callable[[], str]) -> int:
    """Run a command that opens the database, printing its answer, or one line saying why it
    could not (a newer doorstep's file, no permission) instead of a traceback."""
    import sqlite3  # noqa: PLC0415

    from edge.store.db import StoreTooNew  # noqa: PLC0415

    try:
        print(command())
    except (StoreTooNew, sqlite3.Error, OSError) as exc:
        print(f"doorstep: {_explained(exc, config.storage.data_dir)}", file=sys.stderr)
        return 1
    return 0


def _explained(exc: Exception, data_dir: Path) -> str:
    """``exc`` in words, with the fix when the data dir is its cause (a folder the daemon's
    user cannot write, a read-only card)."""
    import sqlite3  # noqa: PLC0415

    where = getattr(exc, "filename", None)
    from edge.journal.failures import DAMAGED_FIX, damaged  # noqa: PLC0415
    from edge.store.instance import AlreadyRunning  # noqa: PLC0415

    if damaged(exc):
        return f"the database in {data_dir}: {exc}: {DAMAGED_FIX}"
    full = not isinstance(exc, AlreadyRunning) and _disk_full(data_dir)
    if full and isinstance(exc, (sqlite3.Error, OSError)):
        return f"{exc} (the disk that holds {data_dir} is full: free space on it)"
    if isinstance(exc, sqlite3.Error):
        return f"the database in {data_dir}: {exc} ({DATA_DIR_FIX})"
    if isinstance(exc, OSError) and where is not None and Path(where).is_relative_to(data_dir):
        return f"{exc} ({DATA_DIR_FIX})"
    return str(exc)


def _disk_full(data_dir: Path) -> bool:
    """No room left where the data dir is (a full card, and no reserve left to give back):
    SQLite then cannot even open its write-ahead log, and says "disk I/O error"."""
    from edge.store.reserve import FULL_BELOW_BYTES, free_bytes  # noqa: PLC0415

    free = free_bytes(data_dir)
    return free is not None and free < FULL_BELOW_BYTES


def _owner_code() -> int:
    """Read the owner's unlock code (6 to 12 digits) on stdin, without echo at a terminal, and
    print the config line that holds its hash (never the code itself)."""
    import getpass  # noqa: PLC0415

    from edge.crypto.owner_code import hash_code  # noqa: PLC0415
    from edge.domain.owner import CODE_PATTERN  # noqa: PLC0415

    if sys.stdin.isatty():
        code = getpass.getpass("unlock code (6-12 digits): ")
        if getpass.getpass("again: ") != code:
            print("doorstep: the two codes differ; nothing written", file=sys.stderr)
            return EXIT_CONFIG
    else:
        code = sys.stdin.readline().strip()
    if not CODE_PATTERN.fullmatch(code):
        print("doorstep: an unlock code is 6 to 12 digits", file=sys.stderr)
        return EXIT_CONFIG
    print(f'unlock_code_hash = "{hash_code(code)}"')
    print("# put this line under [owner] in doorstep.toml", file=sys.stderr)
    return 0


def private_files() -> None:
    """What the daemon writes (the device key, photos, the database) is its own, whatever
    umask the unit or the shell gave it."""
    os.umask(0o077)


def _repair(config: Config) -> int:
    import time  # noqa: PLC0415

    from edge.store.db import FILE_NAME  # noqa: PLC0415
    from edge.store.instance import AlreadyRunning, claim  # noqa: PLC0415
    from edge.store.repair import repair  # noqa: PLC0415

    data_dir = config.storage.data_dir
    if not (data_dir / FILE_NAME).exists():
        print(f"doorstep: no database in {data_dir}: nothing to repair", file=sys.stderr)
        return 1
    private_files()
    try:
        with claim(data_dir):  # never under a running daemon
            repaired = repair(data_dir, time.time())
    except AlreadyRunning as exc:
        print(f"doorstep: {exc}", file=sys.stderr)
        return 1
    print("\n".join(repaired.lines()))
    return 0


def _relay_off(config: Config) -> int:
    """Drive the lock relay locked with nothing else running: systemd's ExecStopPost, after
    every stop and every crash, so a strike is never left energised."""
    pins = config.hardware.pins
    if config.hardware.backend == "sim":
        print("relay-off: the sim backend has no relay to drive")
        return 0
    from edge.hardware.backends import HardwareError, open_gpio  # noqa: PLC0415

    try:
        factory = open_gpio(config.hardware.gpio_chip, config.storage.data_dir)
    except HardwareError as exc:
        print(f"doorstep: relay-off: {exc}", file=sys.stderr)
        return 1
    import lgpio  # noqa: PLC0415 - there now: the factory above imported it
    from gpiozero import GPIOZeroError  # noqa: PLC0415

    from edge.hardware.pi_gpio import relay_off  # noqa: PLC0415

    try:
        relay_off(pins.lock_relay, pins.lock_relay_active_high, factory)
    except (lgpio.error, GPIOZeroError) as exc:  # the line is busy, or the chip is gone
        print(
            f"doorstep: relay-off: GPIO {pins.lock_relay}: {exc} (is doorstep still "
            "running? it drives the relay itself while it runs)",
            file=sys.stderr,
        )
        return 1
    level = "high" if pins.lock_relay_active_high is False else "low"
    print(f"relay-off: GPIO {pins.lock_relay} driven {level}: the lock relay is de-energised")
    return 0


def _history(config: Config, since_text: str | None, as_json: bool, html: Path | None) -> int:
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from edge.ops import history_view  # noqa: PLC0415
    from edge.store.history import read_history  # noqa: PLC0415

    zone = ZoneInfo(config.policy.timezone) if config.policy.timezone else None
    try:
        since = None if since_text is None else history_view.parse_since(since_text, zone)
    except ValueError as exc:
        print(f"doorstep: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    def answer() -> str:
        data_dir = config.storage.data_dir
        deliveries = read_history(data_dir, since)
        if deliveries is None:
            print(
                f"no deliveries yet: {data_dir} has no database (the daemon makes it at its "
                "first start)",
                file=sys.stderr,
            )
            deliveries = []
        if as_json:
            return history_view.as_json(deliveries)
        if html is not None:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(
                history_view.html_page(deliveries, config.device_id, zone, since), encoding="utf-8"
            )
            return f"{html}: {len(deliveries)} deliveries"
        if deliveries:
            return history_view.table(deliveries, zone)
        return "no deliveries" + (f" since {since_text}" if since_text else " yet")

    return _on_store(config, answer)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="doorstep", description=__doc__)
    parser.add_argument("--version", action="version", version=f"doorstep {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("owner-code", help="hash an owner unlock code for [owner] in the config")
    photos = commands.add_parser("photos", help="the local photos: erase a delivery's")
    photos.add_argument("action", choices=["erase"])
    photos.add_argument("--delivery", required=True, help="the delivery whose photos go")
    history = commands.add_parser("history", help="past deliveries: a table, JSON or a web page")
    history.add_argument(
        "--since",
        help="only deliveries completed from this date "
        "(YYYY-MM-DD or YYYY-MM-DDTHH:MM, the device's time zone)",
    )
    shape = history.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="JSON instead of a table")
    shape.add_argument(
        "--html",
        type=Path,
        metavar="OUT",
        help="write one self-contained page with timelines and photos to OUT",
    )
    acl = commands.add_parser(
        "broker-acl",
        help="print the broker ACL block of this device's "
        "homeowner (append it to the mosquitto ACL file)",
    )
    acl.add_argument("--user", help="the owner's broker user (default: owner.DEVICE_ID)")
    for name, text in (
        ("run", "run the daemon in the foreground"),
        ("check-config", "validate a config file and print a summary"),
        ("doctor", "check config, keys, storage, pins, camera, clock, broker"),
        ("outbox", "show what waits to be sent to the cloud"),
        ("device-key", "print the public key that signs this device's receipts"),
        (
            "relay-off",
            "drive the lock relay locked, needing nothing else (systemd runs it after every stop)",
        ),
        (
            "repair",
            "set a damaged database aside and copy what can be read "
            "into a new one (stop doorstep first)",
        ),
    ):
        commands.add_parser(name, help=text)
    for name, sub in commands.choices.items():
        if name != "owner-code":
            sub.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH)
            sub.add_argument("-v", "--verbose", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "owner-code":
        return _owner_code()
    _setup_logging(args.verbose)
    try:
        config = load_config(args.config, check_files=args.command != "relay-off")
    except ConfigError as exc:
        if args.command == "doctor":
            print(f"FAIL  config     {exc}  -> fix that key; the other checks need a usable config")
        print(f"doorstep: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return COMMANDS[args.command](config, args)


def _photos(config: Config, args: argparse.Namespace) -> int:
    from edge.store.erase import BadDeliveryId  # noqa: PLC0415

    try:
        return _on_store(config, lambda: _erase(config, args.delivery))
    except BadDeliveryId as exc:  # refused before anything is opened
        print(f"doorstep: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def _broker_acl(config: Config, args: argparse.Namespace) -> int:
    from edge.ops.broker_acl import owner_block, owner_user  # noqa: PLC0415

    print(owner_block(config, args.user or owner_user(config.device_id)), end="")
    return 0


def _device_key(config: Config) -> int:
    from edge.crypto.device_key import (  # noqa: PLC0415
        FILE_NAME,
        DeviceKeyError,
        load,
        public_pem,
    )

    path = config.storage.data_dir / FILE_NAME
    if not path.exists():
        print(
            f"doorstep: no device key in {config.storage.data_dir} yet: the daemon makes "
            "it at its first start",
            file=sys.stderr,
        )
        return 1
    try:
        print(public_pem(load(path)), end="")
    except (DeviceKeyError, OSError) as exc:
        print(f"doorstep: {exc}", file=sys.stderr)
        return 1
    return 0


def _doctor(config: Config, config_path: Path) -> int:
    from edge.ops.doctor import diagnose  # noqa: PLC0415

    checks = diagnose(config, str(config_path))
    print("\n".join(check.line() for check in checks))
    return 1 if any(check.status == "FAIL" for check in checks) else 0


def _check_config(config: Config, config_path: Path) -> int:
    print(_summary(config, config_path))
    return 0


def _run(config: Config) -> int:
    import sqlite3  # noqa: PLC0415

    private_files()
    from edge.app import run  # noqa: PLC0415 - keeps check-config light
    from edge.crypto.device_key import DeviceKeyError  # noqa: PLC0415
    from edge.hardware.backends import HardwareError  # noqa: PLC0415
    from edge.store.db import StoreTooNew  # noqa: PLC0415

    try:
        return run(config)
    except (OSError, sqlite3.Error, HardwareError, StoreTooNew, DeviceKeyError) as exc:
        print(
            f"doorstep: cannot start: {_explained(exc, config.storage.data_dir)}", file=sys.stderr
        )
        return 1


COMMANDS: dict[str, Callable[[Config, argparse.Namespace], int]] = {
    "run": lambda config, args: _run(config),
    "photos": _photos,
    "outbox": lambda config, args: _on_store(config, lambda: _outbox_status(config)),
    "history": lambda config, args: _history(config, args.since, args.json, args.html),
    "broker-acl": _broker_acl,
    "device-key": lambda config, args: _device_key(config),
    "doctor": lambda config, args: _doctor(config, args.config),
    "relay-off": lambda config, args: _relay_off(config),
    "repair": lambda config, args: _repair(config),
    "check-config": lambda config, args: _check_config(config, args.config),
}

if __name__ == "__main__":
    sys.exit(main())
