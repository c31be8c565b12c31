"""The photo store under a quota: snapshots go first, then photos the cloud already has; photos
still waiting to be sent and private ones are never deleted; retention prunes old copies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.store.photos import PhotoStore, StorageFull

KB = 1000


def store(tmp_path: Path, quota: int, pending: set[str] | None = None,
          retention_s: float | None = None) -> PhotoStore:
    waiting = pending if pending is not None else set()
    return PhotoStore(tmp_path, quota_bytes=quota, retention_s=retention_s,
                      pending=lambda: waiting)


def age(path: Path, seconds_ago: float) -> None:
    stamp = path.stat().st_mtime - seconds_ago
    os.utime(path, (stamp, stamp))


def test_snapshots_go_first_then_delivered_photos_oldest_first(tmp_path: Path) -> None:
    photos = store(tmp_path, quota=4 * KB)
    delivered = photos.save("old", "D-1", b"d" * KB)
    age(delivered, 100)
    snapshot = photos.save("snap", None, b"s" * KB)
    newer = photos.save("new", "D-1", b"n" * KB)
    photos.save("p4", "D-2", b"x" * KB)
    photos.save("p5", "D-2", b"y" * KB)  # needs 1 KB: the snapshot goes
    assert not snapshot.exists() and delivered.exists()
    photos.save("p6", "D-2", b"z" * KB)  # then the oldest delivered photo
    assert not delivered.exists() and newer.exists()


def test_waiting_and_private_photos_are_never_deleted(tmp_path: Path) -> None:
    pending: set[str] = set()
    photos = store(tmp_path, quota=3 * KB, pending=pending)
    waiting = photos.save("w", "D-1", b"w" * KB)
    pending.add(str(waiting))
    private = photos.save("p", "D-2", b"p" * KB, private=True)
    photos.save("x", "D-3", b"x" * KB)
    with pytest.raises(StorageFull):
        photos.save("y", "D-3", b"y" * (2 * KB))
    assert waiting.exists() and private.exists()
    assert private == tmp_path / "private" / "D-2" / "p.jpg"


def test_retention_prunes_delivered_copies_and_snapshots_only(tmp_path: Path) -> None:
    pending: set[str] = set()
    photos = store(tmp_path, quota=100 * KB, pending=pending, retention_s=3600)
    files = {name: photos.save(name, delivery, b"x", private=private)
             for name, delivery, private in [("delivered", "D-1", False), ("snap", None, False),
                                             ("waiting", "D-1", False), ("private", "D-2", True),
                                             ("fresh", "D-1", False)]}
    pending.add(str(files["waiting"]))
    for name in ("delivered", "snap", "waiting", "private"):
        age(files[name], 7200)
    assert photos.prune() == 2
    assert {n for n, f in files.items() if f.exists()} == {"waiting", "private", "fresh"}


def test_identify_inverts_path() -> None:
    photos = PhotoStore(Path("/x"))
    assert PhotoStore.identify(photos.path("p1", "D-9")) == ("p1", "D-9")
    assert PhotoStore.identify(photos.path("p2", None)) == ("p2", None)


def test_a_stale_tally_is_recounted_before_anything_is_deleted(tmp_path: Path) -> None:
    photos = store(tmp_path, quota=4 * KB)
    kept = [photos.save(f"p{i}", "D-1", b"x" * KB) for i in range(3)]
    kept[0].unlink()  # the homeowner deletes one by hand: the tally still counts it
    photos.save("p3", "D-1", b"y" * KB)
    photos.save("p4", "D-1", b"z" * KB)  # tally says 5 KB > 4 KB; the disk says 4 KB: fits
    assert kept[1].exists() and kept[2].exists()
