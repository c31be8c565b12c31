"""Turns a raw `cmd/*` message into a domain input: rejected with its reason, or verified.

The checks run in the order of docs/protocol.md §2: shape and signature (edge.crypto), claims (the
domain), then replay against the durable jti store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.crypto.verify import MAX_PASS_BYTES, SignatureError, verify_signature
from edge.domain.model import PassRejected, PassVerified
from edge.domain.passes import (
    COMMANDS,
    PassPolicy,
    Reason,
    Rejection,
    Signer,
    check_claims,
    claimed_jti,
)
from edge.loop.inbox import Inbound, Inbox
from edge.store.replay import ReplayStore

MAX_ECHOED_NAME = 64


def screen(name: str, payload: bytes) -> Reason | None:
    """The rejection reason of a `cmd/NAME` message that cannot be a pass at all, judged
    without parsing it (the broker link calls this for every message, on its own thread), or
    None when only the full checks can tell."""
    if name not in COMMANDS:
        return Reason.UNKNOWN_COMMAND
    if len(payload) > MAX_PASS_BYTES or payload.count(b".") != 2:
        return Reason.MALFORMED
    return None


class PassIntake:
    def __init__(
        self,
        keys: Sequence[tuple[Ed25519PublicKey, Signer]],
        policy: PassPolicy,
        replay: ReplayStore,
        clock_synced: Callable[[], bool],
    ) -> None:
        """``keys``: each trusted key with its name and the modes it may grant."""
        self._keys = tuple(key for key, _ in keys)
        self._signers = tuple(signer for _, signer in keys)
        self._policy = policy
        self._replay = replay
        self._clock_synced = clock_synced

    def admit(self, name: str, payload: bytes, now: float) -> PassRejected | PassVerified:
        if name not in COMMANDS:
            return PassRejected(Rejection(name[:MAX_ECHOED_NAME], Reason.UNKNOWN_COMMAND))
        try:
            claims, signed_by = verify_signature(payload, self._keys)
        except SignatureError as exc:
            return PassRejected(Rejection(name, exc.reason, claimed_jti(exc.claims)))
        checked = check_claims(claims, name, self._policy, now, self._clock_synced())
        if isinstance(checked, Rejection):
            return PassRejected(checked, signed=True)
        try:
            seen = self._replay.seen(checked.jti, checked.iat)
        except sqlite3.Error as exc:  # a damaged database: answered all the same, never opened
            return PassRejected(
                Rejection(name, Reason.STORAGE_ERROR, checked.jti), signed=True, error=str(exc)
            )
        if seen:
            return PassRejected(Rejection(name, Reason.REPLAYED, checked.jti))
        return PassVerified(replace(checked, signer=self._signers[signed_by]))


def commands(inbox: Inbox) -> dict[str, Callable[[str, bytes, bool], None]]:
    """The handlers of a device with no simulated world: passes and owner commands are queued
    for the core, screened first; `sim/*` is refused as an unknown command."""

    def command(name: str, payload: bytes, live: bool) -> None:
        junk = screen(name, payload)
        if junk is not None:
            inbox.put_junk(name[:MAX_ECHOED_NAME], junk)
        else:
            inbox.put(Inbound("cmd", name, payload, live))

    def owner(name: str, payload: bytes, live: bool) -> None:
        if not payload:
            return  # a retained owner command being cleared (ours, under MQTT 3.1.1)
        if len(payload) > MAX_PASS_BYTES:
            inbox.put_junk(f"owner/{name}"[:MAX_ECHOED_NAME], Reason.MALFORMED)
        else:
            inbox.put(Inbound("owner", name, payload, live))

    def no_world(name: str, payload: bytes, live: bool) -> None:
        inbox.put_junk(f"sim/{name}"[:MAX_ECHOED_NAME], Reason.UNKNOWN_COMMAND)

    return {"cmd": command, "owner": owner, "sim": no_world}
