"""A pass works once, across restarts: intake with a real key and the SQLite jti store."""

from __future__ import annotations

import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.domain.model import PassRejected, PassVerified
from edge.domain.passes import Mode, PassPolicy, Signer
from edge.loop.intake import PassIntake
from edge.store.db import Database
from edge.store.replay import ReplayStore
from simulator.cloud import mint


def intake_at(db: Path, keys, synced: bool = True) -> PassIntake:
    return PassIntake(
        [(keys.private.public_key(), Signer("cloud"))],
        PassPolicy("porch-1"),
        ReplayStore(Database(db)),
        lambda: synced,
    )


def test_a_consumed_jti_is_replayed_after_a_restart(tmp_path: Path, cloud_keys) -> None:
    db = tmp_path / "replay.sqlite"
    token = mint(cloud_keys.private, "done", device_id="porch-1", delivery_id="D-1").encode()
    first = intake_at(db, cloud_keys).admit("done", token, time.time())
    assert isinstance(first, PassVerified)
    ReplayStore(Database(db)).consume(first.pass_.jti, first.pass_.exp)

    restarted = intake_at(db, cloud_keys).admit("done", token, time.time())
    assert isinstance(restarted, PassRejected)
    assert (restarted.rejection.reason, restarted.rejection.jti) == ("replayed", first.pass_.jti)


def test_a_pass_that_was_only_seen_is_not_consumed(tmp_path: Path, cloud_keys) -> None:
    intake = intake_at(tmp_path / "r.sqlite", cloud_keys)
    token = mint(cloud_keys.private, "done", device_id="porch-1", delivery_id="D-1").encode()
    assert isinstance(intake.admit("done", token, time.time()), PassVerified)
    assert isinstance(intake.admit("done", token, time.time()), PassVerified)


def test_unknown_command_topic(tmp_path: Path, cloud_keys) -> None:
    result = intake_at(tmp_path / "r.sqlite", cloud_keys).admit("open_sesame", b"x", time.time())
    assert isinstance(result, PassRejected)
    assert result.rejection.reason == "unknown_command"


def test_unsynchronised_clock_is_rejected(tmp_path: Path, cloud_keys) -> None:
    token = mint(cloud_keys.private, "done", device_id="porch-1", delivery_id="D-1").encode()
    result = intake_at(tmp_path / "r.sqlite", cloud_keys, synced=False).admit(
        "done", token, time.time()
    )
    assert isinstance(result, PassRejected) and result.rejection.reason == "clock_unsynced"


def test_pruning_forgets_only_long_expired_ids(tmp_path: Path) -> None:
    store = ReplayStore(Database(tmp_path / "r.sqlite"))
    store.consume("old", 100.0)
    store.consume("new", 10_000.0)
    assert store.prune(older_than=1000.0) == 1
    assert not store.seen("old") and store.seen("new")


def test_a_verified_pass_names_the_key_that_signed_it(tmp_path: Path, cloud_keys) -> None:
    carrier = Ed25519PrivateKey.generate()
    intake = PassIntake(
        [
            (cloud_keys.private.public_key(), Signer("cloud")),
            (carrier.public_key(), Signer("acme", frozenset({Mode.DOORSTEP}))),
        ],
        PassPolicy("porch-1"),
        ReplayStore(Database(tmp_path / "r.sqlite")),
        lambda: True,
    )
    token = mint(carrier, "arriving", device_id="porch-1", delivery_id="D-1").encode()
    admitted = intake.admit("arriving", token, time.time())
    assert isinstance(admitted, PassVerified)
    assert admitted.pass_.signer == Signer("acme", frozenset({Mode.DOORSTEP}))
