"""Crash-safe file writes: a reader sees the old file or the whole new one, never a torn one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path


def write_all_atomic(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write each file whole and durable, then give them their names: each file is fsynced,
    each folder once for all (a burst of photos costs one folder fsync, not one each). An
    error while writing gives none of them its name, and leaves no temporary file."""
    folders = dict.fromkeys(path.parent for path, _ in files)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    temps: list[tuple[Path, Path]] = []
    try:
        for path, data in files:
            temp = path.with_name(f".{path.name}.tmp")
            temps.append((temp, path))
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        for temp, _ in temps:
            with contextlib.suppress(OSError):
                temp.unlink()
        raise
    for temp, path in temps:
        os.replace(temp, path)
    for folder in folders:
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
