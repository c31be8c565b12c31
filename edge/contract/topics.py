"""Topic names of docs/protocol.md §1, built and parsed without a broker."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    prefix: str
    device_id: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.device_id}"

    @property
    def commands(self) -> str:
        return f"{self.base}/cmd/#"

    @property
    def simulator(self) -> str:
        return f"{self.base}/sim/#"

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def events(self) -> str:
        return f"{self.base}/events"

    @property
    def last_delivery(self) -> str:
        return f"{self.base}/last_delivery"

    @property
    def image_latest(self) -> str:
        return f"{self.base}/image/latest"

    @property
    def owner(self) -> str:
        return f"{self.base}/owner/#"

    @property
    def owner_base(self) -> str:
        return f"{self.base}/owner/"

    @property
    def device_key(self) -> str:
        return f"{self.base}/device_key"

    def receipt(self, delivery_id: str) -> str:
        return f"{self.base}/receipts/{delivery_id}"

    def owner_command(self, name: str) -> str:
        return f"{self.base}/owner/{name}"

    def photo(self, delivery_id: str, photo_id: str) -> str:
        return f"{self.base}/photos/{delivery_id}/{photo_id}"

    def snapshot(self, photo_id: str) -> str:
        return f"{self.base}/snapshots/{photo_id}"

    def clip(self, delivery_id: str | None, clip_id: str, chunk: int) -> str:
        """A clip's chunk ``chunk`` (from 0): a doorbell's without a delivery is a snapshot's."""
        if delivery_id is None:
            return f"{self.base}/snapshots/clips/{clip_id}/{chunk}"
        return f"{self.base}/clips/{delivery_id}/{clip_id}/{chunk}"

    def command(self, name: str) -> str:
        return f"{self.base}/cmd/{name}"

    def sim(self, name: str) -> str:
        return f"{self.base}/sim/{name}"

    def parse_inbound(self, topic: str) -> tuple[str, str] | None:
        """Split `{base}/cmd/NAME`, `{base}/owner/NAME` or `{base}/sim/NAME` into (kind, NAME);
        anything else is None.

        NAME is everything after the kind, so `cmd/a/b` yields "a/b", which no command matches.
        """
        head = self.base + "/"
        if not topic.startswith(head):
            return None
        kind, _, name = topic[len(head) :].partition("/")
        if kind not in ("cmd", "owner", "sim") or not name:
            return None
        return kind, name
