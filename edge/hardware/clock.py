"""Is the system clock synchronised? Unknown counts as not synchronised.

First asked of the kernel with adjtimex(2) in read-only mode, as chrony and systemd-timesyncd
both report through it. The service's sandbox refuses that call even for a read (EPERM): the
unit's @system-service allow-list leaves adjtimex out, and ProtectClock= and ~@privileged deny
it. Then the flag file
systemd-timesyncd keeps once it has synchronised the kernel's clock answers instead, so the
unit keeps its clock protections (without CAP_SYS_TIME the kernel refuses a write anyway).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
from dataclasses import dataclass
from pathlib import Path

TIME_ERROR = 5  # adjtimex's return value while the clock is unsynchronised
TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")


@dataclass(frozen=True)
class ClockSync:
    synced: bool
    how: str  # how it was told, or why it could not be, for the log and doctor


@functools.cache
def _libc() -> ctypes.CDLL:
    """Found once: find_library runs /sbin/ldconfig -p at every call."""
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def clock_sync(flag: Path = TIMESYNCD_FLAG) -> ClockSync:
    try:
        timex = ctypes.create_string_buffer(512)  # struct timex is 208 bytes; modes=0 reads only
        state = _libc().adjtimex(timex)
        error = ctypes.get_errno() if state == -1 else 0
    except (OSError, AttributeError) as exc:
        state, error = -1, getattr(exc, "errno", None) or errno.ENOSYS
    if state != -1:
        return ClockSync(state != TIME_ERROR, "the kernel says so (adjtimex)")
    blocked = (
        f"adjtimex refused ({errno.errorcode.get(error, error)}: the service's "
        "ProtectClock= or SystemCallFilter=)"
    )
    try:
        flagged = flag.exists()
    except OSError:
        flagged = False
    if flagged:
        return ClockSync(True, f"systemd-timesyncd says so ({flag}); {blocked}")
    return ClockSync(False, f"{blocked}, and systemd-timesyncd has not written {flag}")
