"""Is the system clock synchronised? Asked of the kernel with adjtimex(2), as chrony and
systemd-timesyncd both report through it. Unknown counts as not synchronised."""

from __future__ import annotations

import ctypes
import ctypes.util

TIME_ERROR = 5  # adjtimex's return value while the clock is unsynchronised


def kernel_clock_synced() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        timex = ctypes.create_string_buffer(512)  # struct timex is 208 bytes; modes=0 reads only
        state = libc.adjtimex(timex)
    except (OSError, AttributeError):
        return False
    return state not in (-1, TIME_ERROR)
