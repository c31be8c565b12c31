"""`doorstep-sim demo`: a doorstep delivery and then an in-home one, end to end, on loopback.

It starts an embedded broker, makes a fresh cloud key pair and data folder, runs the real
daemon (`doorstep run`) on the sim backend, then plays cloud and courier while printing a
timeline. Photos and report.html land in the output folder it names.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from simulator.broker import EmbeddedBroker
from simulator.cloud import generate_keypair, load_private_key, mint
from simulator.daemon import DaemonProcess, write_sim_config
from simulator.receipts import Verdict, verify_receipts
from simulator.receiver import CloudReceiver
from simulator.report import write_report
from simulator.timeline import Timeline

DEVICE_ID = "porch-demo"
PREFIX = "doorstep"
DEMO_DELIVERY_SETTINGS = """
[delivery]
in_home_enabled = true
relock_delay_s = 1
photo_interval_s = 1

drop_zone = [0.40, 0.65, 0.60, 0.85]  # the doormat: is a parcel left there?

[privacy]  # the neighbour's house across the street is never kept
masks = [[[0.78, 0.12], [1.0, 0.12], [1.0, 0.78], [0.78, 0.78]]]
"""


@dataclass
class ExternalBroker:
    """A broker the user already runs (`--broker HOST:PORT`): the demo neither starts nor
    stops it."""

    host: str
    port: int

    def __enter__(self) -> ExternalBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def run_demo(out: Path | None = None, pace_s: float = 0.6,
             broker_address: str | None = None) -> int:
    """Run the demo; ``pace_s`` pauses between the courier's steps so a person can follow.
    Without ``broker_address`` ("HOST:PORT") it starts its own embedded broker."""
    out = out or Path("demo-output") / datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    print(f"doorstep demo: writing to {out}", flush=True)
    private, public = generate_keypair(out / "keys")
    key = load_private_key(private)
    timeline = Timeline()
    if broker_address:
        host, _, port = broker_address.rpartition(":")
        chosen: EmbeddedBroker | ExternalBroker = ExternalBroker(host or "127.0.0.1", int(port))
    else:
        chosen = EmbeddedBroker()
    with chosen as broker:
        kind = "embedded" if isinstance(chosen, EmbeddedBroker) else "external"
        timeline.say("world", f"{kind} MQTT broker on {broker.host}:{broker.port}")
        config = write_sim_config(out / "doorstep.toml", device_id=DEVICE_ID, port=broker.port,
                                  host=broker.host, trusted_key=public, data_dir=out / "data",
                                  prefix=PREFIX, extra=DEMO_DELIVERY_SETTINGS)
        receiver = CloudReceiver(broker.host, broker.port, PREFIX, DEVICE_ID,
                                 on_event=timeline.device_event)
        daemon = DaemonProcess(config, out / "daemon.log").start()
        try:
            receiver.wait_availability("online", timeout=30)
            timeline.say("device", "online")
            _doorstep_delivery(receiver, key, timeline, pace_s)
            _in_home_delivery(receiver, key, timeline, pace_s)
            status = daemon.terminate()
            receiver.wait_availability("offline", timeout=10)
            timeline.say("device", f"stopped on SIGTERM (exit {status}), availability offline")
        except Exception:
            if daemon.process and daemon.process.poll() is None:
                daemon.kill()
            print(f"demo failed; daemon log follows\n{daemon.log_text()}", file=sys.stderr)
            raise
        finally:
            receiver.close()
    verdict = _verify_receipts(receiver, timeline)
    report = write_report(out, receiver.received, timeline.steps,
                          f"doorstep demo: a doorstep and an in-home delivery to {DEVICE_ID}")
    bad = [pid for pid, data in receiver.received.photos.items()
           if not _sha_matches(pid, data, receiver.received.events)]
    print(f"\n{len(receiver.received.photos)} photos, {len(receiver.received.events)} events; "
          f"sha256 mismatches: {len(bad)}")
    print(f"report: {report}")
    return 1 if bad or status != 0 or not verdict.ok else 0


def _verify_receipts(receiver: CloudReceiver, timeline: Timeline) -> Verdict:
    """The cloud checks what the device signed: every receipt, their chain, the photos."""
    got = receiver.received
    verdict = verify_receipts(got.retained.get("device_key", b""),
                              [got.receipts[d] for d in got.receipt_order], got.photos)
    if verdict.ok:
        timeline.say("cloud", f"checks {len(got.receipt_order)} signed receipts against the "
                     f"device key: signatures, chain and {verdict.photos_checked} photos verify")
    else:
        timeline.say("cloud", f"checks the signed receipts: {'; '.join(verdict.problems)}")
    return verdict


def _sha_matches(photo_id: str, data: bytes, events: list[dict[str, Any]]) -> bool:
    event = next((e for e in events if e.get("photo_id") == photo_id
                  and e["type"] == "delivery.photo"), None)
    return event is None or event["sha256"] == hashlib.sha256(data).hexdigest()


class Courier:
    """The cloud and the courier's app for one delivery: mint a pass, publish it, narrate."""

    def __init__(self, receiver: CloudReceiver, key: Ed25519PrivateKey, timeline: Timeline,
                 pace_s: float, delivery_id: str, mode: str) -> None:
        self.receiver, self.key, self.timeline = receiver, key, timeline
        self.pace_s, self.delivery_id, self.mode = pace_s, delivery_id, mode

    def pause(self) -> None:
        time.sleep(self.pace_s)  # presentation only: every step waits on what it needs

    def send(self, cmd: str, who: str = "courier") -> str:
        token = mint(self.key, cmd, device_id=DEVICE_ID, delivery_id=self.delivery_id,
                     mode=self.mode)
        self.pause()
        self.timeline.say(who, f"sends {cmd} pass for {self.delivery_id} ({self.mode})")
        self.receiver.publish(f"cmd/{cmd}", token)
        return token

    def world(self, what: str, topic: str, payload: str) -> None:
        self.pause()
        self.timeline.say("courier", what)
        self.receiver.publish(f"sim/{topic}", payload)

    def wait(self, type_: str, **fields: Any) -> dict[str, Any]:
        return self.receiver.wait_event(type_, delivery_id=self.delivery_id, **fields)

    def wait_photos(self, completed: dict[str, Any]) -> None:
        self.receiver.wait_for(lambda got: all(p in got.photos for p in completed["photos"]),
                               what=f"every photo of {self.delivery_id}")


def _doorstep_delivery(receiver: CloudReceiver, key: Ed25519PrivateKey, timeline: Timeline,
                       pace_s: float) -> None:
    courier = Courier(receiver, key, timeline, pace_s, "D-1001", "doorstep")
    courier.send("arriving", who="cloud")
    courier.wait("delivery.arriving")
    courier.world("rings the doorbell", "doorbell", "press")
    courier.wait("doorbell.pressed")
    courier.send("at_door")
    courier.wait("delivery.photo", purpose="at_door")
    courier.world("leaves the parcel on the doormat", "parcel", "place")
    done = courier.send("done")
    courier.wait_photos(courier.wait("delivery.completed"))
    receiver.wait_for(lambda got: "D-1001" in got.receipts and got.retained.get("device_key"),
                      what="the signed receipt and the device key")

    courier.pause()
    timeline.say("attacker", "replays the courier's done pass")
    receiver.publish("cmd/done", done)
    receiver.wait_event("command.rejected", reason="replayed")
    timeline.say("attacker", "sends an arriving pass signed with a key the device does not trust")
    forged = mint(Ed25519PrivateKey.generate(), "arriving", device_id=DEVICE_ID,
                  delivery_id="D-evil")
    receiver.publish("cmd/arriving", forged)
    receiver.wait_event("command.rejected", reason="bad_signature")


def _in_home_delivery(receiver: CloudReceiver, key: Ed25519PrivateKey, timeline: Timeline,
                      pace_s: float) -> None:
    courier = Courier(receiver, key, timeline, pace_s, "D-1002", "in_home")
    courier.send("arriving", who="cloud")
    courier.wait("delivery.arriving")
    courier.send("at_door")
    courier.wait("delivery.unlocked")
    courier.world("opens the door", "door", "open")
    courier.wait("delivery.door_opened")
    courier.wait("delivery.photo", purpose="door_open")
    courier.world("puts the parcel inside and closes the door", "door", "close")
    courier.send("done")
    courier.wait("delivery.locked")
    courier.wait_photos(courier.wait("delivery.completed", outcome="delivered"))
    receiver.wait_for(lambda got: "D-1002" in got.receipts, what="the in-home receipt")
