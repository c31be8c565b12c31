"""The homeowner's local copies of every photo, one JPEG file each, written before any upload."""

from __future__ import annotations

from pathlib import Path

from edge.store.files import write_atomic


class PhotoStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    def path(self, photo_id: str, delivery_id: str | None) -> Path:
        if delivery_id is None:
            return self._root / "snapshots" / f"{photo_id}.jpg"
        return self._root / "deliveries" / delivery_id / f"{photo_id}.jpg"

    @staticmethod
    def identify(path: Path) -> tuple[str, str | None]:
        """(photo_id, delivery_id) of a path this store made."""
        delivery_id = path.parent.name if path.parent.parent.name == "deliveries" else None
        return path.stem, delivery_id

    def save(self, photo_id: str, delivery_id: str | None, jpeg: bytes) -> Path:
        path = self.path(photo_id, delivery_id)
        write_atomic(path, jpeg)
        return path
