"""Where a stored photo goes: a doorbell snapshot to `snapshots/`, a delivery photo to
`photos/{delivery_id}/` or, with `photos.transport = "http"`, to its upload URL."""

from __future__ import annotations

from pathlib import Path

from edge.contract.topics import Topics
from edge.domain.model import SharePhoto
from edge.store.outbox import Channel
from edge.store.photos import PhotoStore


class PhotoRoutes:
    def __init__(self, topics: Topics, photos: PhotoStore, upload_url: str | None) -> None:
        self._topics = topics
        self._photos = photos
        self._upload_url = upload_url

    def __call__(self, share: SharePhoto) -> tuple[str, Path, Channel]:
        path = self._photos.path(share.photo_id, share.delivery_id)
        if share.delivery_id is None:
            return self._topics.snapshot(share.photo_id), path, "mqtt"
        if self._upload_url is not None:
            url = self._upload_url.format(
                device_id=self._topics.device_id,
                delivery_id=share.delivery_id,
                photo_id=share.photo_id,
            )
            return url, path, "http"
        return self._topics.photo(share.delivery_id, share.photo_id), path, "mqtt"
