"""The active deliveries on disk: a step writes only the rows it changed (with 1,650 active
deliveries every `arriving` used to rewrite them all: 2.3 MB a step), and the order in which
they were accepted survives removals and restarts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from edge.domain.model import Delivery, Outcome, OwnerHold, Phase
from edge.domain.passes import Courier, Mode
from edge.store.db import open_store
from edge.store.deliveries import DeliveryJournal


def delivery(n: int) -> Delivery:
    return Delivery(
        id=f"D-{n}",
        mode=Mode.DOORSTEP,
        courier=Courier("c", "Sam"),
        confidential=False,
        expires_at=1e9,
    )


def test_a_step_writes_only_the_deliveries_it_changed(tmp_path: Path) -> None:
    db = open_store(tmp_path)
    journal = DeliveryJournal(db)
    active = tuple(delivery(n) for n in range(200))
    with db.transaction() as conn:
        DeliveryJournal.write(conn, active)
    moved = (*active[:50], replace(active[50], phase=Phase.CONFIRMING), *active[52:], delivery(999))
    with db.transaction() as conn:
        before = conn.total_changes
        DeliveryJournal.write(conn, moved)
        assert conn.total_changes - before == 3  # one updated, one deleted, one added
    assert journal.load() == moved
    db.close()
    assert DeliveryJournal(open_store(tmp_path)).load() == moved


def test_the_owners_hold_is_kept_beside_the_deliveries_and_read_back(tmp_path: Path) -> None:
    db = open_store(tmp_path)
    hold = OwnerHold(phase=Phase.RELOCKING, due=12.5, outcome=Outcome.CANCELLED)
    with db.transaction() as conn:
        DeliveryJournal.write(conn, (delivery(1),), hold)
    db.close()
    journal = DeliveryJournal(open_store(tmp_path))
    assert journal.load() == (delivery(1),) and journal.load_owner_hold() == hold


def test_an_owner_session_saved_by_an_older_doorstep_reads_as_the_owners_hold(
    tmp_path: Path,
) -> None:
    # Before the hold had a type of its own, it was saved as a delivery named owner/session.
    db = open_store(tmp_path)
    session = replace(
        delivery(0), id="owner/session", mode=Mode.IN_HOME, phase=Phase.OPEN, alarm_at=40.0
    )
    with db.transaction() as conn:
        DeliveryJournal.write(conn, (session, delivery(1)))
    journal = DeliveryJournal(db)
    assert journal.load() == (delivery(1),)
    assert journal.load_owner_hold() == OwnerHold(phase=Phase.OPEN, alarm_at=40.0)
