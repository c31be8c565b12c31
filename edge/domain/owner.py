"""Owner commands (docs/protocol.md §8): the homeowner's `owner/*` messages, parsed into domain
inputs. They are not signed passes (the broker's ACL protects them), so the parser is strict:
anything that is not exactly one of the documented forms is `malformed`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from edge.domain.passes import Reason, Rejection

CODE_PATTERN = re.compile(r"[0-9]{6,12}")
SNAPSHOT_EVERY_S = 5.0
WRONG_CODES_ALLOWED = 5  # within CODE_WINDOW_S; then owner unlock is locked out
CODE_WINDOW_S = 600.0
LOCKOUT_S = 900.0


@dataclass(frozen=True)
class OwnerLock:
    """Relock now. Always accepted."""


@dataclass(frozen=True)
class OwnerInHome:
    enabled: bool


@dataclass(frozen=True)
class OwnerSnapshot:
    pass


@dataclass(frozen=True)
class OwnerUnlock:
    """An unlock code, kept out of every repr (and so out of every log line)."""

    code: str = field(repr=False)

    @property
    def well_formed(self) -> bool:
        return CODE_PATTERN.fullmatch(self.code) is not None


@dataclass(frozen=True)
class OwnerRejected:
    rejection: Rejection


OwnerInput = OwnerLock | OwnerInHome | OwnerSnapshot | OwnerUnlock | OwnerRejected


def parse_owner(name: str, payload: bytes, live: bool = True) -> OwnerInput:
    """`owner/NAME` with ``payload``, as a domain input (a rejection when it is none). An owner
    command carries no signature and no time, so only a live one acts: a copy the broker kept
    (retained, or queued while the device was away) is `stale`, whatever it says."""
    cmd = f"owner/{name}"[:64]
    if not live:
        return OwnerRejected(Rejection(cmd, Reason.STALE))
    parsed: OwnerInput | None
    if name == "lock":
        parsed = _lock_command(payload)
    elif name == "in_home":
        parsed = {b"ON": OwnerInHome(True), b"OFF": OwnerInHome(False)}.get(payload)
    elif name == "snapshot":
        parsed = OwnerSnapshot() if payload == b"PRESS" else None
    else:
        return OwnerRejected(Rejection(cmd, Reason.UNKNOWN_COMMAND))
    return parsed if parsed is not None else OwnerRejected(Rejection(cmd, Reason.MALFORMED))


def _lock_command(payload: bytes) -> OwnerLock | OwnerUnlock | None:
    """`LOCK`, or Home Assistant's JSON form; None when it is neither."""
    if payload == b"LOCK":
        return OwnerLock()
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or not set(body) <= {"action", "code"}:
        return None
    if body.get("action") == "LOCK":
        return OwnerLock()  # Home Assistant sends {"action": "LOCK", "code": "None"}
    code = body.get("code")
    if body.get("action") == "UNLOCK" and isinstance(code, str) and len(code) <= 64:
        # Not only digits: Home Assistant sends "None" when no code was typed. The machine
        # answers owner_unlock_disabled or bad_code, which tell the homeowner more.
        return OwnerUnlock(code)
    return None
