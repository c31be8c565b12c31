"""Crash-safe file writes: a reader sees the whole new file or none, never a torn one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path


def write_all_atomic(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write new files whole and durable, then give them their names: each file is fsynced,
    each folder once for all (a burst of photos costs one folder fsync, not one each).

    All or none: an error at any point (writing, naming, the folder's fsync) leaves none of
    them under its name and no temporary file, so a caller that reports them all failed has
    nothing on disk that it does not know of. The names must be new (photo ids are): a name
    given and then taken back is unlinked, not restored."""
    folders = dict.fromkeys(path.parent for path, _ in files)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    temps: list[tuple[Path, Path]] = []
    named: list[Path] = []
    try:
        for path, data in files:
            temp = path.with_name(f".{path.name}.tmp")
            temps.append((temp, path))
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for temp, path in temps:
            os.replace(temp, path)
            named.append(path)
        for folder in folders:
            _fsync_folder(folder)
    except BaseException:
        for temp, path in temps:
            with contextlib.suppress(OSError):
                (path if path in named else temp).unlink()
        raise


def _fsync_folder(folder: Path) -> None:
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
