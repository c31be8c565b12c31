"""`make bench`: how fast the hot paths are on this machine. Numbers to watch, not assertions.

- pass verification (Ed25519 signature + claims): what one command costs the Pi;
- a domain step: the core loop's own overhead per input;
- an outbox append (SQLite, fsync): what every event costs on this disk;
- a photo save under the quota with 3000 photos already kept (30 days of a busy door).
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.crypto.verify import verify_signature
from edge.domain.machine import step
from edge.domain.model import CameraHealth, PassVerified, Rules, State
from edge.domain.passes import Courier, Pass, PassPolicy, check_claims
from edge.store.outbox import Outbox
from edge.store.photos import PhotoStore
from simulator.cloud import mint


def measure(name: str, count: int, body: Callable[[], object]) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    for _ in range(count):
        body()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{name:<34} {count / elapsed:>10.0f} /s   {elapsed / count * 1e6:>8.1f} us each"
          f"   peak {peak / 1024:.0f} KiB")


def main() -> None:
    key = Ed25519PrivateKey.generate()
    token = mint(key, "done", device_id="porch-1", delivery_id="D-1").encode()
    keys = [key.public_key()]
    policy = PassPolicy("porch-1")
    now = time.time()
    measure("verify pass (signature + claims)", 2000,
            lambda: check_claims(verify_signature(token, keys), "done", policy, now, True))

    grant = PassVerified(Pass(cmd="arriving", jti="j", iss="c", delivery_id="D-1", iat=now,
                              exp=now + 60, mode="doorstep", courier=Courier("c", "n")))
    state = step(State(), grant, now, Rules())[0]
    measure("domain step", 50000, lambda: step(state, CameraHealth(True), now, Rules()))

    with tempfile.TemporaryDirectory() as folder:
        outbox = Outbox(Path(folder) / "outbox.sqlite")
        measure("outbox append (fsync)", 300, lambda: outbox.add_event("t", lambda s: b"{}" * 200))
        outbox.close()

        photos = PhotoStore(Path(folder) / "photos", quota_bytes=10**9)
        for i in range(3000):
            photos.save(f"old{i}", f"D-{i % 300}", b"x" * 64)
        names = (f"new{i}" for i in range(10**6))
        measure("photo save, 3000 kept (fsync)", 300,
                lambda: photos.save(next(names), "D-new", b"y" * 20000))


if __name__ == "__main__":
    main()
