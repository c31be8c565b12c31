"""`make bench`: `doorstep history` on a data dir with 1,000 deliveries (goal: under a second),
as the homeowner runs it (a new process: start-up, config, read, print), beside its floor: a
bare Python process that reads and parses the same rows; `doorstep check-config` shows what of
that is start-up and config alone."""

from __future__ import annotations

import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from edge.contract.topics import Topics
from edge.domain.model import Emit, EventType, Now, Record
from edge.wiring import open_stores
from tests.bench.results import Results

DELIVERIES = 1000
RUNS = 5
COURIER = {"id": "courier-7", "name": "Sam Courier"}
FLOOR = (
    "import json, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
    "[json.loads(b) for (b,) in c.execute('SELECT body FROM history')]"
)


def fill(data: Path) -> None:
    """1,000 deliveries of 7 events and 2 photos each, through the ledger like the daemon's."""
    stores = open_stores(data)
    db = stores.db
    ledger = stores.ledger(Topics("doorstep", "porch-1"), lambda share: ("", data, "mqtt"), None)
    wall = time.time() - DELIVERIES * 600
    for n in range(DELIVERIES):
        delivery_id = f"D-{n}"
        folder = data / "photos" / "deliveries" / delivery_id
        folder.mkdir(parents=True)
        photos = []
        for purpose in ("door_open", "confirmation"):
            photo_id = f"{delivery_id}-{purpose}"
            jpeg = f"jpeg {photo_id}".encode()
            (folder / f"{photo_id}.jpg").write_bytes(jpeg)
            photos.append(
                Emit(
                    EventType.DELIVERY_PHOTO,
                    delivery_id,
                    {
                        "photo_id": photo_id,
                        "sha256": hashlib.sha256(jpeg).hexdigest(),
                        "bytes": 9,
                        "captured_at": "2027-01-15T08:00:05.000Z",
                        "local_only": False,
                        "purpose": purpose,
                        "frame": n,
                        "sensor_ns": n,
                    },
                )
            )
        steps = (
            Emit(
                EventType.DELIVERY_ARRIVING,
                delivery_id,
                {"mode": "in_home", "courier": COURIER, "confidential": False},
            ),
            Emit(EventType.DELIVERY_UNLOCKED, delivery_id, {}),
            Emit(EventType.DELIVERY_DOOR_OPENED, delivery_id, {}),
            photos[0],
            Emit(EventType.DELIVERY_LOCKED, delivery_id, {}),
            photos[1],
            Emit(
                EventType.DELIVERY_COMPLETED,
                delivery_id,
                {
                    "outcome": "delivered",
                    "mode": "in_home",
                    "photos": [p.fields["photo_id"] for p in photos],
                },
            ),
        )
        ledger.commit(Record(events=steps), Now(wall + n * 600, 1.0))
    db.close()


def median_run(command: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    results = Results("history")
    results.header()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        fill(data)
        key = Path(tmp) / "cloud.pem"
        key.write_bytes(
            Ed25519PrivateKey.generate()
            .public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        )
        config = Path(tmp) / "doorstep.toml"
        config.write_text(
            f'device_id = "porch-1"\n[security]\ntrusted_keys = ["{key}"]\n'
            f'[storage]\ndata_dir = "{data}"\n',
            encoding="utf-8",
        )
        floor = median_run([sys.executable, "-c", FLOOR, str(data / "doorstep.sqlite")])
        start = median_run([sys.executable, "-m", "edge", "check-config", "--config", str(config)])
        results.add(
            "doorstep start-up + config",
            f"{start * 1e3:.0f} ms",
            f"{floor * 1e3:.0f} ms (python reads the rows)",
            f"x{start / floor:.1f}",
            "(what every command pays)",
        )
        for shape in ([], ["--json"]):
            ours = median_run(
                [sys.executable, "-m", "edge", "history", "--config", str(config), *shape]
            )
            results.add(
                f"history {DELIVERIES} deliveries {' '.join(shape) or 'table'}",
                f"{ours * 1e3:.0f} ms",
                f"{floor * 1e3:.0f} ms (python reads the rows)",
                f"x{ours / floor:.1f}",
                "< 1 s",
            )
    results.write()


if __name__ == "__main__":
    main()
