"""Links planted in the data dir are not followed: the pid file does not truncate a link's
target, and the device key's private half is never written through one."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.crypto.device_key import FILE_NAME, load_or_create
from edge.store import instance


def test_a_linked_pid_file_is_refused_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    data = tmp_path / "data"
    data.mkdir()
    (data / instance.FILE_NAME).symlink_to(target)
    with pytest.raises(OSError):
        instance.claim(data)
    assert target.read_text() == "keep me"


def test_the_device_key_is_never_written_through_a_planted_link(tmp_path: Path) -> None:
    stolen = tmp_path / "stolen"
    data = tmp_path / "data"
    data.mkdir()
    (data / f".{FILE_NAME}.tmp").symlink_to(stolen)
    load_or_create(data)
    assert not stolen.exists() and (data / FILE_NAME).is_file()
    assert not (data / FILE_NAME).is_symlink()


def test_a_start_refuses_a_link_among_its_photo_folders(tmp_path: Path) -> None:
    # A linked photos/snapshots had its target's files pruned as if they were snapshots.
    elsewhere = tmp_path / "family-pictures"
    elsewhere.mkdir()
    (elsewhere / "holiday.jpg").write_bytes(b"precious")
    data = tmp_path / "data"
    (data / "photos").mkdir(parents=True)
    (data / "photos" / "snapshots").symlink_to(elsewhere)
    with pytest.raises(instance.LinkInDataDir, match="snapshots is a symbolic link"):
        instance.refuse_links(data)
    (data / "photos" / "snapshots").unlink()
    instance.refuse_links(data)  # a plain tree is fine
    assert (elsewhere / "holiday.jpg").exists()
