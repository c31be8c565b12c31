"""Where a stored photo or clip goes: a doorbell snapshot to `snapshots/`, a delivery photo to
`photos/{delivery_id}/` or, with `photos.transport = "http"`, to its upload URL. A clip goes
the same ways; over MQTT in numbered chunks (`clips/{delivery_id}/{clip_id}/{n}`), so a broker
that caps messages (AWS IoT: 128 KiB) still carries it."""

from __future__ import annotations

from pathlib import Path

from edge.contract.topics import Topics
from edge.domain.model import ShareClip, SharePhoto
from edge.store.outbox import Channel, Part
from edge.store.photos import PhotoStore

CHUNK_BYTES = 256 * 1024


class PhotoRoutes:
    def __init__(
        self,
        topics: Topics,
        photos: PhotoStore,
        upload_url: str | None,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self._topics = topics
        self._photos = photos
        self._upload_url = upload_url
        self.chunk_bytes = chunk_bytes  # the broker's cap, when lower

    def __call__(self, share: SharePhoto) -> tuple[str, Path, Channel]:
        path = self._photos.path(share.photo_id, share.delivery_id)
        if share.delivery_id is None:
            return self._topics.snapshot(share.photo_id), path, "mqtt"
        if self._upload_url is not None:
            return self._url(share.delivery_id, share.photo_id), path, "http"
        return self._topics.photo(share.delivery_id, share.photo_id), path, "mqtt"

    def clip(self, share: ShareClip) -> list[tuple[str, Path, Channel, Part | None]]:
        """The outbox rows of a stored clip: one upload, or its chunks in order. Nothing is
        read here: this runs inside the step's transaction."""
        path = self._photos.path(share.clip_id, share.delivery_id, suffix=".mp4")
        if self._upload_url is not None and share.delivery_id is not None:
            return [(self._url(share.delivery_id, share.clip_id), path, "http", None)]
        step = self.chunk_bytes
        return [
            (self._topics.clip(share.delivery_id, share.clip_id, n), path, "mqtt", (at, step))
            for n, at in enumerate(range(0, max(share.size, 1), step))
        ]

    def _url(self, delivery_id: str, media_id: str) -> str:
        assert self._upload_url is not None
        return self._upload_url.format(
            device_id=self._topics.device_id, delivery_id=delivery_id, photo_id=media_id
        )
