"""The Home Assistant blueprint shipped in firmware_config/homeassistant/ is valid by Home
Assistant's own blueprint and automation schemas (`pytest -m slow`: it needs the Home Assistant
that the real-HA test installs into .venv-ha), and the check fails a broken one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_home_assistant import home_assistant_python

ROOT = Path(__file__).parents[2]
BLUEPRINT = ROOT / "firmware_config" / "homeassistant" / "doorstep_doorbell.yaml"
CHECK = ROOT / "tests" / "ha_blueprint_check.py"

pytestmark = pytest.mark.slow


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(home_assistant_python()), str(CHECK), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_doorbell_blueprint_is_valid_for_home_assistant() -> None:
    result = check(BLUEPRINT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok doorstep doorbell notification"), result.stdout


def test_the_check_refuses_a_broken_blueprint(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = BLUEPRINT.read_text(encoding="utf-8")
    broken.write_text(text.replace("mode: single", "mode: now_and_then"), encoding="utf-8")
    result = check(broken)
    assert result.returncode != 0 and "data['mode']" in result.stderr, result.stderr
