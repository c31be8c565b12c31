"""The homeowner's local copies of every photo (one JPEG file each) and clip (one MP4 each),
written before any upload.

Layout: `snapshots/` (doorbell presses outside deliveries), `deliveries/{id}/` (photos that go to
the cloud) and `private/{id}/` (confidential deliveries: the only copy, never uploaded).
Under a quota, room is made by deleting snapshots first, then delivery photos the cloud already
has, oldest first; a photo still waiting to be sent, or a private one, is never deleted.

The folders are walked once, at start; after that an index in save order (oldest first) keeps
the tally and the eviction order, so a save costs the same with 30 photos kept or 30,000.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.store.files import write_all_atomic

KINDS = ("snapshots", "deliveries", "private")
EVICTABLE = ("snapshots", "deliveries")  # in this order
SUFFIXES = (".jpg", ".mp4")  # photos, and clips: kept, pruned and evicted alike


class StorageFull(OSError):
    """No room for a new photo without deleting one that must be kept."""


@dataclass(frozen=True)
class NewPhoto:
    photo_id: str
    delivery_id: str | None
    jpeg: bytes  # or, with suffix ".mp4", a clip's video
    private: bool = False
    suffix: str = ".jpg"

    @property
    def kind(self) -> str:
        if self.delivery_id is None:
            return "snapshots"
        return "private" if self.private else "deliveries"


class PhotoStore:
    def __init__(
        self,
        root: Path,
        quota_bytes: int | None = None,
        retention_s: float | None = None,
        private_retention_s: float | None = None,
        is_pending: Callable[[Path], bool] = lambda path: False,
    ) -> None:
        self._root = root
        self._quota = quota_bytes
        self._retention = {
            "snapshots": retention_s,
            "deliveries": retention_s,
            "private": private_retention_s,
        }
        self._is_pending = is_pending  # the outbox has not delivered this file yet
        self._lock = threading.Lock()
        # kind -> {path relative to root: size}, oldest first (dicts keep insertion order);
        # about 150 bytes a photo, bounded by the quota and the retention.
        self._index: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
        self._used = 0
        self._load()

    def path(
        self, photo_id: str, delivery_id: str | None, private: bool = False, suffix: str = ".jpg"
    ) -> Path:
        """Where a photo (or, with suffix ".mp4", a clip) of ``delivery_id`` is kept."""
        if delivery_id is None:
            return self._root / "snapshots" / f"{photo_id}{suffix}"
        kind = "private" if private else "deliveries"
        return self._root / kind / delivery_id / f"{photo_id}{suffix}"

    @staticmethod
    def identify(path: Path) -> tuple[str, str | None]:
        """(photo_id, delivery_id) of a path this store made."""
        delivery_id = None if path.parent.name == "snapshots" else path.parent.name
        return path.stem, delivery_id

    @property
    def used_bytes(self) -> int:
        with self._lock:
            return self._used

    def save(
        self, photo_id: str, delivery_id: str | None, jpeg: bytes, private: bool = False
    ) -> Path:
        saved = self.save_all([NewPhoto(photo_id, delivery_id, jpeg, private)])[0]
        if isinstance(saved, OSError):
            raise saved
        return saved

    def save_all(self, photos: Sequence[NewPhoto]) -> list[Path | OSError]:
        """Store several photos with one folder fsync: for each, its path, or why it could not
        be stored (StorageFull for that photo alone; a disk error for all of them)."""
        results: list[Path | OSError] = []
        admitted: list[tuple[int, str, Path, bytes]] = []
        with self._lock:
            reserved = 0
            for photo in photos:
                path = self.path(photo.photo_id, photo.delivery_id, photo.private, photo.suffix)
                try:
                    self._make_room(reserved + len(photo.jpeg))
                except StorageFull as exc:
                    results.append(exc)
                    continue
                reserved += len(photo.jpeg)
                admitted.append((len(results), photo.kind, path, photo.jpeg))
                results.append(path)
            try:
                write_all_atomic([(path, jpeg) for _, _, path, jpeg in admitted])
            except OSError as exc:
                for at, _, _, _ in admitted:
                    results[at] = exc
                return results
            for _, kind, path, jpeg in admitted:
                self._index[kind][str(path.relative_to(self._root))] = len(jpeg)
                self._used += len(jpeg)
        return results

    def prune(self, now: float | None = None) -> int:
        """Delete what the retention settings no longer keep (confidential photos have their
        own, shorter one); returns how many files went."""
        now = now if now is not None else time.time()
        pruned = 0
        with self._lock:
            for kind in KINDS:
                retention = self._retention[kind]
                if retention is None:
                    continue
                cutoff = now - retention
                for name in list(self._index[kind]):
                    path = self._root / name
                    try:
                        old = path.stat().st_mtime < cutoff
                    except OSError:
                        self._forget(kind, name)  # gone by other hands
                        continue
                    if old and not self._is_pending(path):
                        self._delete(kind, name)
                        pruned += 1
        return pruned

    def _load(self) -> None:
        found: list[tuple[float, str, str, int]] = []
        for kind in KINDS:
            folder = self._root / kind
            if folder.exists():
                for temp in folder.rglob(".*.tmp"):  # a write a crash cut short
                    temp.unlink(missing_ok=True)
                for file in (f for suffix in SUFFIXES for f in folder.rglob(f"*{suffix}")):
                    stat = file.stat()
                    found.append(
                        (stat.st_mtime, kind, str(file.relative_to(self._root)), stat.st_size)
                    )
        for _, kind, name, size in sorted(found):
            self._index[kind][name] = size
            self._used += size

    def _make_room(self, size: int) -> None:
        if self._quota is None:
            return
        excess = self._used + size - self._quota
        if excess <= 0:
            return
        # Snapshots first, then delivered photos, oldest first; waiting ones are not candidates.
        for kind in EVICTABLE:
            for name in list(self._index[kind]):
                if excess <= 0:
                    return
                path = self._root / name
                if not path.exists():
                    excess -= self._forget(kind, name)  # deleted by hand: the tally was stale
                elif not self._is_pending(path):
                    excess -= self._delete(kind, name)
        if excess > 0:
            raise StorageFull(
                f"the photo quota ({self._quota} bytes) is full of photos that "
                "must be kept (not yet sent, or private)"
            )

    def _forget(self, kind: str, name: str) -> int:
        size = self._index[kind].pop(name)
        self._used -= size
        return size

    def _delete(self, kind: str, name: str) -> int:
        path = self._root / name
        path.unlink(missing_ok=True)
        if kind != "snapshots":
            with contextlib.suppress(OSError):  # not empty yet
                path.parent.rmdir()  # a delivery's folder goes with its last photo
        return self._forget(kind, name)
