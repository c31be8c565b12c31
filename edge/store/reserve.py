"""A little room kept for a start on a full card. SQLite cannot even open its write-ahead log
on a disk with no room left, so a doorstep restarted on a full card could not run at all: no
doorbell, no owner lock, no word to the homeowner's dashboard. The data dir keeps a 1 MiB file
while there is room; a start that finds the disk full deletes it, starts, and says so (with
the fix), and the file is made again once there is room."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from edge.store.files import write_all_atomic

log = logging.getLogger(__name__)

FILE_NAME = "reserve"
RESERVE_BYTES = 1024 * 1024
FULL_BELOW_BYTES = 64 * 1024  # less room than this: SQLite cannot open its log
KEEP_ABOVE_BYTES = 8 * RESERVE_BYTES  # made only where it takes a small part of what is free
FIX = "free space on the disk that holds the data dir; doorstep keeps running meanwhile"


def free_bytes(folder: Path) -> int | None:
    """Room left where ``folder`` (or its nearest existing parent) is; None if unknown."""
    found = next((p for p in (folder, *folder.parents) if p.exists()), None)
    try:
        return None if found is None else shutil.disk_usage(found).free
    except OSError:
        return None


def release_if_full(data_dir: Path) -> None:
    """Before the database is opened: on a full disk, give the reserve back to start."""
    free = free_bytes(data_dir)
    reserve = data_dir / FILE_NAME
    if free is None or free >= FULL_BELOW_BYTES or not reserve.exists():
        return
    reserve.unlink()
    log.warning(
        'event=reserve_released detail="the disk is full: doorstep gave back its '
        '1 MiB reserve to start" fix="%s"',
        FIX,
    )


def keep(data_dir: Path) -> None:
    """Make the reserve where there is plenty of room (best effort: it is a spare)."""
    reserve = data_dir / FILE_NAME
    free = free_bytes(data_dir)
    if reserve.exists() or free is None or free < KEEP_ABOVE_BYTES:
        return
    try:
        write_all_atomic([(reserve, bytes(RESERVE_BYTES))])  # real blocks, not a sparse file
    except OSError as exc:
        log.info('event=reserve_not_made error="%s"', exc)
