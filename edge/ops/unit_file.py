"""A systemd unit file read as systemd reads its [Service] settings: each key may appear more
than once, in order; an empty assignment resets it. And the syscall policy its filters make,
from systemd's own group lists. Enough for doctor to check the unit the service runs under,
and for the tests that reproduce it."""

from __future__ import annotations

import functools
import subprocess
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


@functools.cache
def _syscall_groups() -> dict[str, list[str]]:
    """systemd's syscall groups as this machine's systemd-analyze lists them ({} without it)."""
    try:
        text = subprocess.run(
            ["systemd-analyze", "syscall-filter"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    groups: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.split()[0], [])
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(names: list[str]) -> set[str]:
    """Syscall names, with each @group replaced by its members, recursively."""
    out: set[str] = set()
    for name in names:
        out |= expand(_syscall_groups().get(name, [])) if name.startswith("@") else {name}
    return out


@dataclass(frozen=True)
class SyscallPolicy:
    """What a unit lets its process call: an allow-list (or a deny-list) of syscall names, from
    its SystemCallFilter= lines in order, and the @clock calls ProtectClock= adds a filter for."""

    allow_mode: bool
    names: frozenset[str]
    clock_denied: frozenset[str]

    def allows(self, name: str) -> bool:
        listed = name in self.names
        return (listed if self.allow_mode else not listed) and name not in self.clock_denied


def syscall_policy(unit: UnitFile) -> SyscallPolicy | None:
    """The unit's syscall policy; None when systemd-analyze cannot say what its groups hold."""
    if not _syscall_groups():
        return None
    allow_mode: bool | None = None
    names: set[str] = set()
    for value in unit.all("SystemCallFilter"):
        negated = value.startswith("~")
        listed = expand(value.lstrip("~").split())
        if allow_mode is None:
            allow_mode = not negated
        if allow_mode:
            names = names - listed if negated else names | listed
        else:
            names = names | listed if negated else names - listed
    clock = expand(["@clock"]) if unit.flag("ProtectClock") else set()
    return SyscallPolicy(bool(allow_mode), frozenset(names), frozenset(clock))
