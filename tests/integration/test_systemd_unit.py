"""The shipped unit file: systemd-analyze verify is clean and the sandbox scores 1.5 or lower."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[2] / "systemd" / "doorstep.service"
INSTALLED_BINARY = "/opt/doorstep/venv/bin/doorstep"

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (make test installs it)",
)


def test_the_unit_verifies_cleanly(tmp_path: Path) -> None:
    # verify insists that ExecStart exists on this machine: point it at this venv's doorstep,
    # which is what the installer puts at INSTALLED_BINARY. Nothing else is changed.
    text = UNIT.read_text()
    assert INSTALLED_BINARY in text
    here = Path(sys.executable).with_name("doorstep")
    copy = tmp_path / "doorstep.service"
    copy.write_text(text.replace(INSTALLED_BINARY, str(here)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_the_sandbox_scores_1_5_or_lower() -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert score, result.stdout + result.stderr
    assert float(score.group(1)) <= 1.5


def test_notify_and_watchdog_are_configured() -> None:
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=30",
        "Restart=on-failure",
        "StateDirectory=doorstep",
        "ConfigurationDirectory=doorstep",
        "DevicePolicy=closed",
    ):
        assert re.search(rf"^{re.escape(line)}$", text, re.M), line
