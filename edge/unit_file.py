"""A systemd unit file read as systemd reads its [Service] settings: each key may appear more
than once, in order; an empty assignment resets it. Enough for doctor to check the unit the
service runs under, and for the tests that reproduce it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TRUE = ("1", "yes", "true", "on")


@dataclass(frozen=True)
class UnitFile:
    path: Path
    settings: tuple[tuple[str, str], ...]  # (key, value) of [Service], in order

    @classmethod
    def read(cls, path: Path) -> UnitFile:
        section, settings = "", []
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line
            elif section == "[Service]" and "=" in line:
                key, _, value = line.partition("=")
                settings.append((key.strip(), value.strip()))
        return cls(path, tuple(settings))

    def all(self, key: str) -> list[str]:
        values: list[str] = []
        for name, value in self.settings:
            if name == key:
                values = [] if value == "" else [*values, value]
        return values

    def get(self, key: str) -> str | None:
        values = self.all(key)
        return values[-1] if values else None

    def flag(self, key: str) -> bool:
        return (self.get(key) or "").lower() in TRUE
