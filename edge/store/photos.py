"""The homeowner's local copies of every photo, one JPEG file each, written before any upload.

Layout: `snapshots/` (doorbell presses outside deliveries), `deliveries/{id}/` (photos that go to
the cloud) and `private/{id}/` (confidential deliveries: the only copy, never uploaded).
Under a quota, room is made by deleting snapshots first, then delivery photos the cloud already
has, oldest first; a photo still waiting to be sent, or a private one, is never deleted.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

from edge.store.files import write_atomic


class StorageFull(OSError):
    """No room for a new photo without deleting one that must be kept."""


class PhotoStore:
    def __init__(self, root: Path, quota_bytes: int | None = None,
                 retention_s: float | None = None,
                 pending: Callable[[], set[str]] = lambda: set()) -> None:
        self._root = root
        self._quota = quota_bytes
        self._retention = retention_s
        self._pending = pending  # paths the outbox has not delivered yet
        self._lock = threading.Lock()
        # Bytes in use, counted once and then kept up to date, so a save under the quota does
        # not walk the folder; None means "count again" (after deleting, or at start).
        self._used: int | None = None

    def path(self, photo_id: str, delivery_id: str | None, private: bool = False) -> Path:
        if delivery_id is None:
            return self._root / "snapshots" / f"{photo_id}.jpg"
        return self._root / ("private" if private else "deliveries") / delivery_id / f"{photo_id}.jpg"

    @staticmethod
    def identify(path: Path) -> tuple[str, str | None]:
        """(photo_id, delivery_id) of a path this store made."""
        delivery_id = None if path.parent.name == "snapshots" else path.parent.name
        return path.stem, delivery_id

    def save(self, photo_id: str, delivery_id: str | None, jpeg: bytes,
             private: bool = False) -> Path:
        path = self.path(photo_id, delivery_id, private)
        with self._lock:
            self._make_room(len(jpeg))
            write_atomic(path, jpeg)
            if self._used is not None:
                self._used += len(jpeg)
        return path

    def prune(self, now: float | None = None) -> int:
        """Delete what the retention setting no longer keeps; returns how many files went."""
        if self._retention is None:
            return 0
        cutoff = (now if now is not None else time.time()) - self._retention
        with self._lock:
            old = [f for f in self._evictable() if f.stat().st_mtime < cutoff]
            for file in old:
                file.unlink(missing_ok=True)
            self._used = None
        return len(old)

    def _files(self, kind: str) -> list[Path]:
        folder = self._root / kind
        files = folder.rglob("*.jpg") if folder.exists() else []
        return sorted(files, key=lambda f: f.stat().st_mtime)

    def _evictable(self) -> list[Path]:
        pending = self._pending()
        return [f for f in self._files("snapshots") + self._files("deliveries")
                if str(f) not in pending]

    def _count_used(self) -> int:
        return sum(f.stat().st_size for kind in ("snapshots", "deliveries", "private")
                   for f in self._files(kind))

    def _make_room(self, size: int) -> None:
        if self._quota is None:
            return
        if self._used is None or self._used + size > self._quota:
            self._used = self._count_used()  # only when near the quota: count from the disk
        excess = self._used + size - self._quota
        if excess <= 0:
            return
        # Snapshots first, then delivered photos, oldest first; waiting ones are not candidates.
        for file in self._evictable():
            freed = file.stat().st_size
            file.unlink(missing_ok=True)
            self._used -= freed
            excess -= freed
            if excess <= 0:
                return
        raise StorageFull(f"the photo quota ({self._quota} bytes) is full of photos that must "
                          "be kept (not yet sent, or private)")
