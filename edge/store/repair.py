"""`doorstep repair`: a damaged database (a failing card, power lost mid-write) is set aside and
a new one made from what can still be read. The device key and the photos are files of their
own and are left as they are. Whatever is lost, two promises hold afterwards:

- `seq` keeps increasing: the event counter starts again above any value the old file could
  have reached (the time in milliseconds, unless a greater one was read);
- a pass works once: when the used passes could not all be read, every pass issued before the
  repair is refused as `replayed` (the counters' `replay_horizon`).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from edge.store.db import FILE_NAME, open_store
from edge.store.replay import HORIZON

TABLES = ("used_jti", "counters", "settings", "deliveries", "outbox", "receipt_items", "history")


@dataclass
class Repaired:
    aside: Path
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied
    partly: list[str] = field(default_factory=list)  # tables that could not be read to the end

    def lines(self) -> list[str]:
        said = [f"the damaged database is kept as {self.aside}"]
        said += [
            f"{table}: {n} rows copied"
            + (" (the rest could not be read)" if table in self.partly else "")
            for table, n in self.rows.items()
        ]
        if "used_jti" in self.partly:
            said.append(
                "passes issued before now are refused as replayed (some used passes "
                "were lost); the cloud's new passes work"
            )
        return said


def repair(data_dir: Path, now: float) -> Repaired:
    path = data_dir / FILE_NAME
    aside = path.with_name(f"{FILE_NAME}.damaged-{int(now)}")
    for suffix in ("", "-wal", "-shm"):  # SQLite finds "<aside>-wal" beside it
        if Path(f"{path}{suffix}").exists():
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
    report = Repaired(aside)
    old = sqlite3.connect(f"{aside.resolve().as_uri()}?mode=ro", uri=True)  # any path, quoted
    db = open_store(data_dir)
    try:
        for table in TABLES:
            rows, whole = _readable(old, table)
            report.rows[table] = len(rows)
            if not whole:
                report.partly.append(table)
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                with db.transaction() as conn:
                    conn.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", rows)
        with db.transaction() as conn:
            conn.execute(
                "UPDATE counters SET value = MAX(value, ?) WHERE name = 'event_seq'",
                (int(now * 1000),),
            )
            conn.execute(
                "UPDATE counters SET value = MAX(value, (SELECT COALESCE(MAX(id), 0) "
                "FROM outbox)) WHERE name = 'outbox_id'"
            )
            if "used_jti" in report.partly or "counters" in report.partly:
                conn.execute(
                    "INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)",
                    (HORIZON, int(now) + 1),
                )
    finally:
        old.close()
        db.close()
    return report


def _readable(conn: sqlite3.Connection, table: str) -> tuple[list[tuple[object, ...]], bool]:
    """The rows of ``table`` that can be read, in order, and whether that was all of them."""
    rows: list[tuple[object, ...]] = []
    try:
        for row in conn.execute(f"SELECT * FROM {table}"):
            rows.append(tuple(row))
    except sqlite3.DatabaseError:
        return rows, False
    return rows, True
