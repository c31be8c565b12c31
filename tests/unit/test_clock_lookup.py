"""The clock check resolves libc once: ctypes.util.find_library runs /sbin/ldconfig -p at every
call, and the check runs every second on a Pi."""

from __future__ import annotations

import ctypes.util

from edge.hardware import clock


def test_libc_is_found_once_however_often_the_clock_is_checked(monkeypatch) -> None:
    calls: list[str] = []
    real = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: calls.append(name) or real(name))
    clock._libc.cache_clear()
    for _ in range(5):
        clock.clock_sync()
    assert calls == ["c"]
