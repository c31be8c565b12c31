"""One daemon per data dir. A second `doorstep run` on the same data dir (the service and a run
by hand, say) would fight the first for the broker session, the pins and the database. The one
that runs holds an exclusive flock on `doorstep.pid` there for as long as it runs (the kernel
lets go when the process ends, however it ends); another is refused before it touches the
hardware, told which process holds it."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

FILE_NAME = "doorstep.pid"


class AlreadyRunning(OSError):
    """Another doorstep runs with this data dir: ``pid`` (as it wrote it, or "?")."""

    def __init__(self, pid: str, data_dir: Path) -> None:
        super().__init__(
            f"another doorstep (pid {pid}) is running with data dir {data_dir}: "
            "stop it first (sudo systemctl stop doorstep), or give this one its "
            "own storage.data_dir"
        )
        self.pid = pid


def claim(data_dir: Path) -> IO[bytes]:
    """The data dir, held until the returned file is closed; AlreadyRunning if it is held.
    The pid is written for that message alone: a full disk that refuses it does not stop a
    start (the lock is what holds)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # O_NOFOLLOW: a link planted in the data dir must not make us truncate its target.
    fd = os.open(data_dir / FILE_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise AlreadyRunning(holder, data_dir) from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    except OSError:
        pass  # no room for eight bytes: the lock holds all the same
    return os.fdopen(fd, "rb", buffering=0)


class LinkInDataDir(OSError):
    """A symbolic link where doorstep keeps its own files."""


def refuse_links(data_dir: Path) -> None:
    """The data dir holds no symbolic link among its files and photo folders: one could make
    doorstep prune, truncate or overwrite a file that is not its own. Checked at every start,
    before anything there is opened."""
    if not data_dir.is_dir():
        return  # the first start makes it
    photos = data_dir / "photos"
    places = [*data_dir.iterdir()]
    if photos.is_dir() and not photos.is_symlink():
        places += photos.iterdir()
    for kind in ("deliveries", "private"):
        folder = photos / kind
        if folder.is_dir() and not folder.is_symlink():
            places += folder.iterdir()
    for path in places:
        if path.is_symlink():
            raise LinkInDataDir(
                f"{path} is a symbolic link: doorstep never follows links in its "
                "data dir (one could make it delete or overwrite another file); "
                "remove it, and keep the data dir's files in the data dir"
            )


def holder(data_dir: Path) -> str | None:
    """The pid of a doorstep that runs with this data dir, or None. Creates and holds nothing
    (`doorstep doctor`, perhaps run as root, must leave no file the daemon cannot open)."""
    try:
        handle = open(data_dir / FILE_NAME, encoding="ascii")  # noqa: SIM115 - closed below
    except OSError:
        return None  # never started here, or not ours to read: the data dir check says so
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "?"
        return None
