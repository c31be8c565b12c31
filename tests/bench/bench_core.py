"""`make bench`, the hot paths one by one, each beside its floor measured in the same run (the
bare library call underneath). Numbers to watch, not assertions: this machine is shared and
noisy, so read the ratios.

- pass verification: signature + claims, beside a bare Ed25519 verify;
- a domain step: the core loop's own overhead per input, beside a dataclass replace;
- a step's record (one transaction, one fsync), beside one write + fsync of the same bytes;
- a photo save with 27,000 photos kept, under the quota, beside write + fsync of a file.
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.contract.topics import Topics
from edge.crypto.verify import verify_signature
from edge.domain.machine import step
from edge.domain.model import (
    CameraHealth,
    ConsumeJti,
    Delivery,
    Emit,
    EventType,
    Now,
    PassVerified,
    Record,
    Rules,
    State,
)
from edge.domain.passes import Courier, Mode, Pass, PassPolicy, check_claims
from edge.store.photos import PhotoStore
from edge.wiring import open_stores
from simulator.cloud import mint
from tests.bench.results import Results


def timed(count: int, body: Callable[[], object]) -> tuple[float, int]:
    """Seconds per call, and the peak of memory allocated while running."""
    tracemalloc.start()
    started = time.perf_counter()
    for _ in range(count):
        body()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed / count, peak


RESULTS = Results("core")


def show(
    name: str, count: int, body: Callable[[], object], floor_name: str, floor: Callable[[], object]
) -> None:
    ours, peak = timed(count, body)
    base, _ = timed(count, floor)
    RESULTS.add(
        name,
        f"{ours * 1e6:.1f} us (peak {peak / 1024:.0f} KiB)",
        f"{base * 1e6:.1f} us ({floor_name})",
        f"x{ours / base:.1f}",
    )


def durable_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def main() -> None:
    RESULTS.header()
    key = Ed25519PrivateKey.generate()
    token = mint(key, "done", device_id="porch-1", delivery_id="D-1").encode()
    head, body, signature = token.split(b".")
    raw_signature = base64.urlsafe_b64decode(signature + b"=" * (-len(signature) % 4))
    public = key.public_key()
    policy = PassPolicy("porch-1")
    now = time.time()
    show(
        "verify pass (signature + claims)",
        2000,
        lambda: check_claims(verify_signature(token, [public])[0], "done", policy, now, True),
        "Ed25519 verify alone",
        lambda: public.verify(raw_signature, head + b"." + body),
    )

    clock = Now(now, 1000.0)
    grant = PassVerified(
        Pass(
            cmd="arriving",
            jti="j",
            iss="c",
            delivery_id="D-1",
            iat=now,
            exp=now + 60,
            mode=Mode.DOORSTEP,
            courier=Courier("c", "n"),
        )
    )
    state = step(State(), grant, clock, Rules()).state
    show(
        "domain step",
        50000,
        lambda: step(state, CameraHealth(True), clock, Rules()),
        "dataclass replace",
        lambda: replace(state, camera_ok=True),
    )

    with tempfile.TemporaryDirectory() as folder:
        stores = open_stores(Path(folder))
        db = stores.db
        ledger = stores.ledger(
            Topics("t", "porch-1"), lambda share: ("t", Path(folder), "mqtt"), None
        )
        delivery = Delivery("D-1", Mode.IN_HOME, Courier("c", "n"), False, now + 60)
        jtis = iter(range(10**6))
        show(
            "step record (1 transaction, fsync)",
            300,
            lambda: ledger.commit(
                Record(
                    consume=ConsumeJti(f"j{next(jtis)}", now + 60),
                    deliveries=(delivery,),
                    events=(Emit(EventType.DELIVERY_UNLOCKED, "D-1"),),
                ),
                clock,
            ),
            "write + fsync, 400 bytes",
            lambda: durable_write(Path(folder) / "f", b"x" * 400),
        )
        db.close()

        photos = PhotoStore(Path(folder) / "photos", quota_bytes=27_000 * 64 + 20000 * 400)
        for i in range(27_000):
            photos.save(f"old{i}", f"D-{i % 2000}", b"x" * 64)
        names = (f"new{i}" for i in range(10**6))
        show(
            "photo save, 27,000 kept (fsync)",
            300,
            lambda: photos.save(next(names), "D-new", b"y" * 20000),
            "write + fsync, 20 KB",
            lambda: durable_write(Path(folder) / "p", b"y" * 20000),
        )
    RESULTS.write()


if __name__ == "__main__":
    main()
