"""The photo store under a quota: snapshots go first, then photos the cloud already has; photos
still waiting to be sent and private ones are never deleted; retention prunes old copies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.store.photos import NewPhoto, PhotoStore, StorageFull

KB = 1000


def store(
    tmp_path: Path, quota: int, pending: set[str] | None = None, retention_s: float | None = None
) -> PhotoStore:
    waiting = pending if pending is not None else set()
    return PhotoStore(
        tmp_path,
        quota_bytes=quota,
        retention_s=retention_s,
        is_pending=lambda path: str(path) in waiting,
    )


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
    files = {
        name: photos.save(name, delivery, b"x", private=private)
        for name, delivery, private in [
            ("delivered", "D-1", False),
            ("snap", None, False),
            ("waiting", "D-1", False),
            ("private", "D-2", True),
            ("fresh", "D-1", False),
        ]
    }
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


def test_a_save_at_the_quota_neither_walks_nor_lists_the_store(tmp_path: Path, monkeypatch) -> None:
    """With 27,000 photos a save once took 0.75 s: the tree was walked twice per save and every
    waiting row read. The folders are walked once, at start; a save asks only about the file
    it would delete."""
    photos = store(tmp_path, quota=2000 * KB)
    for i in range(2000):
        photos.save(f"p{i}", f"D-{i % 50}", b"x" * KB)
    asked: list[Path] = []
    photos = PhotoStore(
        tmp_path, quota_bytes=2000 * KB, is_pending=lambda path: asked.append(path) or False
    )  # one walk here

    def no_walking(*args, **kwargs):
        raise AssertionError("the photo folder was walked again")

    monkeypatch.setattr(Path, "rglob", no_walking)
    monkeypatch.setattr(os, "scandir", no_walking)
    for i in range(100):
        photos.save(f"new{i}", "D-new", b"n" * KB)
    assert len(asked) == 100 and photos.used_bytes == 2000 * KB
    assert not (tmp_path / "deliveries" / "D-0" / "p0.jpg").exists()


def test_a_delivery_folder_goes_with_its_last_photo(tmp_path: Path) -> None:
    photos = store(tmp_path, quota=2 * KB)
    photos.save("a", "D-1", b"a" * KB)
    photos.save("b", "D-2", b"b" * KB)
    photos.save("c", "D-3", b"c" * KB)  # D-1's only photo goes, and its folder with it
    assert not (tmp_path / "deliveries" / "D-1").exists()
    assert sorted(p.name for p in (tmp_path / "deliveries").iterdir()) == ["D-2", "D-3"]


def test_photos_kept_before_a_restart_are_counted_and_evicted_oldest_first(tmp_path) -> None:
    first = store(tmp_path, quota=3 * KB)
    old = first.save("old", "D-1", b"o" * KB)
    age(old, 1000)
    first.save("mid", "D-2", b"m" * KB)
    again = store(tmp_path, quota=3 * KB)
    assert again.used_bytes == 2 * KB
    again.save("new", "D-3", b"n" * (2 * KB))
    assert not old.exists() and again.used_bytes == 3 * KB


def test_confidential_photos_have_their_own_retention(tmp_path: Path) -> None:
    photos = PhotoStore(tmp_path, retention_s=30 * 86400, private_retention_s=7 * 86400)
    old_private = photos.save("p-old", "D-1", b"x", private=True)
    new_private = photos.save("p-new", "D-2", b"x", private=True)
    delivered = photos.save("d-old", "D-3", b"x")
    for file in (old_private, delivered):
        age(file, 8 * 86400)
    assert photos.prune() == 1
    assert not old_private.exists() and new_private.exists() and delivered.exists()
    assert not old_private.parent.exists()


def test_photos_stored_together_fail_alone_when_the_quota_cannot_take_them(tmp_path) -> None:
    photos = store(tmp_path, quota=2 * KB + 100, pending={str(tmp_path / "deliveries/D-1/a.jpg")})
    kept = photos.save("a", "D-1", b"a" * KB)  # waiting to be sent: never deleted
    burst = [
        NewPhoto("b", "D-1", b"b" * KB),
        NewPhoto("c", "D-1", b"c" * KB, private=True),
        NewPhoto("d", None, b"d" * 10),
    ]
    b, c, d = photos.save_all(burst)
    assert isinstance(c, StorageFull)  # b took the last room; c alone is refused
    assert isinstance(b, Path) and b.read_bytes() == b"b" * KB and kept.exists()
    assert isinstance(d, Path) and photos.used_bytes == 2 * KB + 10
    assert not list(tmp_path.rglob("*.tmp")) and not (tmp_path / "private").exists()


def test_a_burst_that_cannot_be_named_whole_leaves_no_file_behind(tmp_path: Path) -> None:
    """Naming fails on the burst's second photo (a folder is in its way): the first, already
    named, is taken back too, so the store holds nothing it reported failed or did not index."""
    photos = store(tmp_path, quota=10 * KB)
    blocker = photos.path("second", None)
    blocker.mkdir(parents=True)
    (blocker / "keep").write_bytes(b"")
    saved = photos.save_all(
        [NewPhoto("first", None, b"a" * KB), NewPhoto("second", None, b"b" * KB)]
    )
    assert all(isinstance(result, OSError) for result in saved)
    assert sorted(p.name for p in blocker.parent.iterdir()) == ["second.jpg"]
    assert photos.used_bytes == 0


def test_a_write_cut_short_by_a_crash_is_cleared_at_the_next_start(tmp_path: Path) -> None:
    photos = store(tmp_path, quota=10 * KB)
    kept = photos.save("kept", "D-1", b"k" * KB)
    torn = kept.with_name(".torn.jpg.tmp")
    torn.write_bytes(b"half a pho")  # what kill -9 leaves mid-write
    again = store(tmp_path, quota=10 * KB)
    assert not torn.exists() and kept.exists()
    assert again.used_bytes == KB
