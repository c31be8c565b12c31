"""Running a fleet: N devices and the couriers' cloud on one network loop, deliveries started at
a steady rate for a while, then drained; a progress line while it runs, a summary table at the
end, and last the one line a script reads:
`fleet: devices=N deliveries=M rate=R/s unlock_p50_ms=A unlock_p99_ms=B lost=L`."""

from __future__ import annotations

import heapq
import json
import logging
import resource
import shutil
import ssl
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from simulator import mosquitto
from simulator.fleet.couriers import Couriers
from simulator.fleet.device import FleetDevice
from simulator.fleet.netloop import NetLoop

log = logging.getLogger(__name__)

ONLINE_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 30.0
PROGRESS_EVERY_S = 0.5


@dataclass(frozen=True)
class FleetOptions:
    devices: int = 100
    rate: float = 10.0  # deliveries started per second
    duration: float = 10.0  # seconds of starting deliveries (then the fleet drains)
    host: str | None = None  # None: a local mosquitto of our own
    port: int = 1883
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    protocol: str = "5"  # or "3.1.1" (RabbitMQ's MQTT plugin)
    prefix: str = "doorstep"
    device_hosts: tuple[tuple[str, int], ...] = ()  # spread the devices over these brokers
    data_dir: Path | None = None  # None: a temporary folder (in RAM where /dev/shm exists)
    check_contract: bool = False  # every event against docs/contract (costs the cloud CPU)


@dataclass
class FleetResult:
    devices: int
    online: int
    deliveries: int
    failed: int
    timed_out: int
    duration_s: float
    rate: float
    unlock_p50_ms: float | None
    unlock_p99_ms: float | None
    events: int
    photos: int
    lost_events: int
    lost_photos: int
    breaches: int  # events that broke the contract (checked only when asked)
    messages: int  # published by the devices and the cloud (the broker's load)
    failures: list[str]

    @property
    def lost(self) -> int:
        return self.lost_events + self.lost_photos

    def line(self) -> str:
        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        return (
            f"fleet: devices={self.devices} deliveries={self.deliveries} "
            f"rate={self.rate:.1f}/s unlock_p50_ms={ms(self.unlock_p50_ms)} "
            f"unlock_p99_ms={ms(self.unlock_p99_ms)} lost={self.lost}"
        )

    def table(self) -> str:
        rows = [
            ("devices", f"{self.devices} ({self.online} online)"),
            (
                "deliveries",
                f"{self.deliveries} delivered, {self.failed} failed, {self.timed_out} timed out",
            ),
            ("rate", f"{self.rate:.1f} deliveries/s over {self.duration_s:.1f} s"),
            (
                "unlock latency",
                "-"
                if self.unlock_p50_ms is None
                else f"p50 {self.unlock_p50_ms:.1f} ms, p99 {self.unlock_p99_ms:.1f} ms "
                "(at_door sent to delivery.unlocked received)",
            ),
            ("events", f"{self.events} received, {self.lost_events} lost"),
            ("photos", f"{self.photos} received, {self.lost_photos} lost"),
            ("contract", f"{self.breaches} events broke it" if self.breaches else "-"),
        ]
        return "\n".join(f"  {name:<16} {value}" for name, value in rows) + "".join(
            f"\n  failure          {why}" for why in self.failures
        )


def run_fleet(
    options: FleetOptions, *, progress: TextIO | None = sys.stderr, json_out: Path | None = None
) -> FleetResult:
    _raise_file_limit()
    scratch = Path(tempfile.mkdtemp(prefix="doorstep-fleet-", dir=_ram_dir()))
    data = options.data_dir or scratch / "devices"
    broker = None
    host, port = options.host, options.port
    if host is None:
        broker = mosquitto.Mosquitto(scratch / "broker").start()
        host, port = broker.host, broker.port
    loop = NetLoop()
    try:
        result = _run(options, loop, host, port, data, progress)
    finally:
        loop.close()
        if broker is not None:
            broker.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(
            json.dumps({**asdict(result), "lost": result.lost, "line": result.line()}, indent=2),
            encoding="utf-8",
        )
    return result


def _start_devices(
    options: FleetOptions,
    loop: NetLoop,
    broker: tuple[str, int],
    data: Path,
    key: Ed25519PrivateKey,
) -> dict[str, FleetDevice]:
    """The devices, each connecting to its broker node in turn (all to ``broker`` unless
    ``device_hosts`` spreads them over a cluster)."""
    protocol = mqtt.MQTTv5 if options.protocol == "5" else mqtt.MQTTv311
    spread = options.device_hosts or (broker,)
    devices: dict[str, FleetDevice] = {}
    for n in range(options.devices):
        device_id = f"fleet-{n:04d}"
        device = FleetDevice(
            device_id, data / device_id, key.public_key(), prefix=options.prefix, protocol=protocol
        )
        devices[device_id] = device
        device.start()
        _connect(loop, device.client, options, *spread[n % len(spread)])
        if n % 50 == 49:
            loop.poll(0)  # take the CONNACKs as they come
    return devices


def _run(
    options: FleetOptions, loop: NetLoop, host: str, port: int, data: Path, progress: TextIO | None
) -> FleetResult:
    protocol = mqtt.MQTTv5 if options.protocol == "5" else mqtt.MQTTv311
    key = Ed25519PrivateKey.generate()  # the cloud's, in memory only
    cloud = Couriers(key, options.prefix, protocol, options.check_contract)
    _connect(loop, cloud.client, options, host, port)
    _wait(loop, lambda: cloud.connected, 30, "the cloud could not connect to the broker")
    devices = _start_devices(options, loop, (host, port), data, key)
    _wait(
        loop,
        lambda: len(cloud.online) == len(devices),
        ONLINE_TIMEOUT_S,
        f"only some devices came online in {ONLINE_TIMEOUT_S:.0f} s",
    )

    timers: list[tuple[float, str]] = []
    for device in devices.values():
        device.on_stepped = lambda d: _schedule(timers, d)
        _schedule(timers, device)
    started = time.monotonic()
    begun, shown = 0, 0.0
    planned = round(options.rate * options.duration)  # however late the loop's last turn is
    while True:
        now = time.monotonic()
        owed = min(planned, options.rate * (now - started))
        if now - started >= options.duration:
            owed = planned
            if (
                begun >= planned and cloud.settled()
            ) or now - started > options.duration + DRAIN_TIMEOUT_S:
                break
        while begun < owed and cloud.start_delivery(now):
            begun += 1
        cloud.expire(now)
        while timers and timers[0][0] <= now:
            _, device_id = heapq.heappop(timers)
            device = devices[device_id]
            due = device.due(now)
            if due is not None and due <= now:  # else a later entry of its own is queued
                device.tick()
        if progress is not None and now - shown >= PROGRESS_EVERY_S:
            shown = now
            _progress(progress, cloud, len(devices), now - started)
        wait = min(0.01, max(0.0, timers[0][0] - now)) if timers else 0.01
        loop.poll(wait)
    elapsed = min(time.monotonic() - started, options.duration) or 1.0
    if progress is not None:
        _progress(progress, cloud, len(devices), time.monotonic() - started)
        progress.write("\n")
    score, (lost_events, lost_photos) = cloud.score, cloud.lost()
    unlocks = sorted(score.unlock_ms)
    return FleetResult(
        devices=len(devices),
        online=len(cloud.online),
        deliveries=score.completed,
        failed=score.failed,
        timed_out=score.timed_out,
        duration_s=elapsed,
        rate=score.completed / elapsed,
        unlock_p50_ms=statistics.median(unlocks) if unlocks else None,
        unlock_p99_ms=unlocks[min(len(unlocks) - 1, int(len(unlocks) * 0.99))] if unlocks else None,
        events=score.events,
        photos=score.photos,
        lost_events=lost_events,
        lost_photos=lost_photos,
        breaches=score.breaches,
        failures=score.failures,
        messages=cloud.sent + sum(d.sent for d in devices.values()),
    )


def _schedule(timers: list[tuple[float, str]], device: FleetDevice) -> None:
    due = device.due(time.monotonic())
    if due is not None:
        heapq.heappush(timers, (due, device.device_id))


def _connect(
    loop: NetLoop, client: mqtt.Client, options: FleetOptions, host: str, port: int
) -> None:
    if options.ca_file is not None:
        client.tls_set(
            ca_certs=str(options.ca_file),
            certfile=None if options.cert_file is None else str(options.cert_file),
            keyfile=None if options.key_file is None else str(options.key_file),
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    loop.add(client)
    client.connect(host, port, keepalive=60)


def _wait(loop: NetLoop, condition: Any, timeout: float, failure: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(failure)
        loop.poll(0.05)


def _progress(out: TextIO, cloud: Couriers, devices: int, elapsed: float) -> None:
    done = cloud.score.completed
    rate = done / elapsed if elapsed > 0 else 0.0
    bar = "#" * int(20 * len(cloud.online) / max(devices, 1))
    out.write(
        f"\r[{bar:<20}] online {len(cloud.online)}/{devices}  delivered {done} "
        f"({rate:.1f}/s)  in flight {len(cloud.trips)}  failures "
        f"{cloud.score.failed + cloud.score.timed_out}   "
    )
    out.flush()


def _raise_file_limit() -> None:
    """A socket and a database (three files with its log) per device: more than 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _ram_dir() -> str | None:
    """The devices' databases in RAM where there is /dev/shm: the fleet loads the broker and
    the cloud, not this machine's disk (each device still writes and commits as on a Pi)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() else None
