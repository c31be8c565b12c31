"""Which failures the world causes and which are bugs: a full disk or a failing card (OSError,
sqlite3.Error) is logged as one line the homeowner can act on; anything else also gets its
traceback, for whoever fixes the code."""

from __future__ import annotations

import sqlite3


def expected(exc: BaseException) -> bool:
    return isinstance(exc, (OSError, sqlite3.Error))
