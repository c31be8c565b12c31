"""Claim rules for signed passes (docs/protocol.md §2), after the signature has been verified.

The signature check needs cryptography and lives in ``edge.crypto``; everything that only
looks at claims, the device identity and the time lives here, so each ``reason`` is unit-tested.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    DOORSTEP = "doorstep"
    IN_HOME = "in_home"


class Reason(StrEnum):
    """Why a command was refused: the `reason` of `command.rejected` (docs/protocol.md §2, §8)."""

    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    WRONG_DEVICE = "wrong_device"
    CLOCK_UNSYNCED = "clock_unsynced"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    LIFETIME_TOO_LONG = "lifetime_too_long"
    REPLAYED = "replayed"
    MODE_NOT_ALLOWED = "mode_not_allowed"
    DUPLICATE_DELIVERY = "duplicate_delivery"
    UNKNOWN_DELIVERY = "unknown_delivery"
    # the homeowner's rules (§11)
    COURIER_NOT_ALLOWED = "courier_not_allowed"
    OUTSIDE_HOURS = "outside_hours"
    BUSY = "busy"
    CAMERA_UNAVAILABLE = "camera_unavailable"
    WRONG_STATE = "wrong_state"
    # owner commands (§8)
    RATE_LIMITED = "rate_limited"
    OWNER_UNLOCK_DISABLED = "owner_unlock_disabled"
    LOCKED_OUT = "locked_out"
    BAD_CODE = "bad_code"
    STALE = "stale"  # a retained or session-queued owner command: never acted on
    # doorstep's own, where the contract is silent
    LOCK_FAULT = "lock_fault"
    DOOR_OPEN = "door_open"  # at_door while the door already stands open
    TOO_MANY_DELIVERIES = "too_many_deliveries"  # an arriving past Rules.max_active_deliveries
    UNKNOWN_COMMAND = "unknown_command"
    STORAGE_ERROR = "storage_error"


COMMANDS = ("arriving", "at_door", "done", "cancel")
MODES = tuple(Mode)
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_JTI_LENGTH = 128


@dataclass(frozen=True)
class Courier:
    id: str
    name: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class Signer:
    """The trusted key a pass was signed with (config `security.trusted_keys`): its name, and
    the modes it may grant."""

    name: str = ""
    modes: frozenset[Mode] = frozenset(Mode)


@dataclass(frozen=True)
class Pass:
    """A pass whose signature and claims are valid; only replay and command rules remain."""

    cmd: str
    jti: str
    iss: str
    delivery_id: str
    iat: float
    exp: float
    nbf: float | None = None
    mode: Mode | None = None
    courier: Courier | None = None
    confidential: bool = False
    signer: Signer = Signer()


@dataclass(frozen=True)
class Rejection:
    cmd: str
    reason: Reason
    jti: str | None = None


@dataclass(frozen=True)
class PassPolicy:
    device_id: str
    clock_skew_s: float = 30.0
    max_command_lifetime_s: float = 120.0
    max_grant_lifetime_s: float = 86400.0


def claimed_jti(claims: Any) -> str | None:
    """The jti to echo in a rejection: only a well-formed one, never arbitrary input."""
    if isinstance(claims, dict):
        jti = claims.get("jti")
        if isinstance(jti, str) and 1 <= len(jti) <= MAX_JTI_LENGTH:
            return jti
    return None


MAX_TIMESTAMP = 1e11  # the year 5138: a time claim past it is no time at all


def _is_number(value: Any) -> bool:
    """A time claim: a real number of seconds since 1970, neither negative nor absurd (1e300 or
    an infinity would make a grant that never ends)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value < MAX_TIMESTAMP
    )


def _well_formed(claims: dict[str, Any], cmd: str) -> bool:
    strings = ("iss", "aud", "cmd", "delivery_id", "jti")
    if not all(isinstance(claims.get(name), str) for name in strings):
        return False
    if not all(_is_number(claims.get(name)) for name in ("iat", "exp")):
        return False
    if "nbf" in claims and not _is_number(claims["nbf"]):
        return False
    if claims["cmd"] != cmd or not ID_PATTERN.fullmatch(claims["delivery_id"]):
        return False
    if not 1 <= len(claims["jti"]) <= MAX_JTI_LENGTH:
        return False
    if cmd == "arriving":
        courier = claims.get("courier")
        if claims.get("mode") not in MODES or not isinstance(courier, dict):
            return False
        if not (isinstance(courier.get("id"), str) and isinstance(courier.get("name"), str)):
            return False
        if not isinstance(claims.get("confidential", False), bool):
            return False
    return True


def check_claims(
    claims: Any, cmd: str, policy: PassPolicy, now: float, clock_synced: bool
) -> Pass | Rejection:
    """Apply the claim checks of docs/protocol.md §2 in table order; the first failure is the
    reason.

    ``cmd`` is the last level of the topic the pass came on. Replay is checked by the caller,
    which owns the durable jti store.
    """
    jti = claimed_jti(claims)

    def reject(reason: Reason) -> Rejection:
        return Rejection(cmd=cmd, reason=reason, jti=jti)

    if not isinstance(claims, dict) or not _well_formed(claims, cmd):
        return reject(Reason.MALFORMED)
    if claims["exp"] <= claims["iat"]:  # a pass that ends before it begins (no schema says it)
        return reject(Reason.MALFORMED)
    if claims["aud"] != policy.device_id:
        return reject(Reason.WRONG_DEVICE)
    if not clock_synced:
        return reject(Reason.CLOCK_UNSYNCED)
    skew = policy.clock_skew_s
    if now >= claims["exp"] + skew:
        return reject(Reason.EXPIRED)
    nbf = claims.get("nbf")
    if now < max(claims["iat"], nbf or 0) - skew:  # issued in the device's future: its window
        return reject(Reason.NOT_YET_VALID)  # [nbf or iat, exp] has not begun
    limit = policy.max_grant_lifetime_s if cmd == "arriving" else policy.max_command_lifetime_s
    if claims["exp"] - claims["iat"] > limit:
        return reject(Reason.LIFETIME_TOO_LONG)
    grant = cmd == "arriving"  # only a grant's extra claims were checked, and mean anything
    courier = claims["courier"] if grant else None
    return Pass(
        cmd=cmd,
        jti=claims["jti"],
        iss=claims["iss"],
        delivery_id=claims["delivery_id"],
        iat=float(claims["iat"]),
        exp=float(claims["exp"]),
        nbf=None if nbf is None else float(nbf),
        mode=Mode(claims["mode"]) if grant else None,
        courier=Courier(courier["id"], courier["name"]) if courier is not None else None,
        confidential=grant and claims.get("confidential", False) is True,
    )
