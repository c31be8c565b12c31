"""A storage error in the CLI gets the data dir's fix only when the data dir is its cause."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from edge.cli import DATA_DIR_FIX, _explained

DATA_DIR = Path("/var/lib/doorstep")


def denied(filename: str) -> OSError:
    return PermissionError(errno.EACCES, "Permission denied", filename)


def test_a_file_in_the_data_dir_gets_its_fix() -> None:
    assert DATA_DIR_FIX in _explained(denied("/var/lib/doorstep/photos/x.jpg"), DATA_DIR)


def test_a_file_beside_it_with_a_longer_name_does_not() -> None:
    """A prefix of the path is not the folder: /var/lib/doorstep2 is not in /var/lib/doorstep."""
    explained = _explained(denied("/var/lib/doorstep2/history.html"), DATA_DIR)
    assert DATA_DIR_FIX not in explained and "doorstep2" in explained


def test_a_database_error_names_the_data_dir_and_its_fix() -> None:
    explained = _explained(sqlite3.OperationalError("unable to open database file"), DATA_DIR)
    assert str(DATA_DIR) in explained and DATA_DIR_FIX in explained
