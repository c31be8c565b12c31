"""firmware_config/install.sh into a throwaway root: the files, user entries and unit it
promises, a second run that changes nothing, and an uninstall that keeps config and data."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).parents[2]
SCRIPT = SOURCE / "firmware_config" / "install.sh"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None,
    reason="the installer needs root and useradd (CI runs as root)",
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    etc = tmp_path / "root" / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\nvideo:x:44:\n")  # video exists, gpio does not
    (etc / "shadow").write_text("")
    (etc / "gshadow").write_text("")
    return tmp_path / "root"


def install(root: Path, *args: str) -> str:
    env = {**os.environ, "DESTDIR": str(root), "DOORSTEP_SKIP_VENV": "1"}
    result = subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path with its mode, owner, mtime and content digest."""
    seen = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        seen[str(path.relative_to(root))] = (
            info.st_mode,
            info.st_uid,
            info.st_gid,
            info.st_mtime_ns,
            digest,
        )
    return seen


def entry(root: Path, table: str, name: str) -> list[str]:
    lines = (root / "etc" / table).read_text().splitlines()
    return next(line.split(":") for line in lines if line.startswith(f"{name}:"))


def mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)


def test_install_lays_out_what_it_promises(root: Path) -> None:
    install(root)
    user = entry(root, "passwd", "doorstep")
    assert user[5:] == ["/var/lib/doorstep", "/usr/sbin/nologin"]
    group_id = entry(root, "group", "doorstep")[2]
    assert user[3] == group_id
    for group in ("gpio", "video"):
        assert "doorstep" in entry(root, "group", group)[3].split(",")

    config = root / "etc/doorstep/doorstep.toml"
    assert config.read_bytes() == (SOURCE / "firmware_config/doorstep.toml").read_bytes()
    assert mode(config) == "0o640" and config.stat().st_gid == int(group_id)
    assert mode(root / "etc/doorstep/credentials") == "0o700"
    data = root / "var/lib/doorstep"
    assert mode(data) == "0o700" and data.stat().st_uid == int(user[2])
    unit = root / "etc/systemd/system/doorstep.service"
    assert unit.read_bytes() == (SOURCE / "systemd/doorstep.service").read_bytes()


def test_a_second_run_changes_nothing_and_keeps_the_homeowners_config(root: Path) -> None:
    install(root)
    config = root / "etc/doorstep/doorstep.toml"
    config.write_text(config.read_text().replace('device_id = "porch-1"', 'device_id = "front"'))
    before = snapshot(root)
    output = install(root)
    assert snapshot(root) == before
    assert "installed" not in output and "created" not in output
    assert 'device_id = "front"' in config.read_text()


def test_uninstall_keeps_config_and_data(root: Path) -> None:
    install(root)
    (root / "opt/doorstep").mkdir(parents=True)  # what the venv step would have made
    (root / "var/lib/doorstep/replay.sqlite").write_text("history")
    install(root, "--uninstall")
    assert not (root / "etc/systemd/system/doorstep.service").exists()
    assert not (root / "opt/doorstep").exists()
    assert (root / "etc/doorstep/doorstep.toml").exists()
    assert (root / "var/lib/doorstep/replay.sqlite").read_text() == "history"
