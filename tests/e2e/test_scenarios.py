"""Every shipped scenario (simulator/scenarios/*.toml), run by the same runner as
`doorstep-sim scenario run`: one source for the tool and the tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.play import play
from simulator.scenario import load, names


@pytest.mark.parametrize("name", names())
def test_scenario(name: str, tmp_path: Path) -> None:
    verdict = play(load(name), tmp_path / name)
    assert verdict.passed, "\n".join(verdict.failures) + "\n--- daemon log ---\n" + verdict.log
    report = json.loads((tmp_path / name / "report.json").read_text())
    assert report["verdict"] == {"passed": True, "failures": []}


def test_the_shipped_scenarios_cover_the_named_situations() -> None:
    assert set(names()) >= {
        "doorstep",
        "in_home",
        "not_entered",
        "door_left_open",
        "jam",
        "camera_fail_mid_delivery",
        "camera_freeze",
        "confidential",
        "replay_attack",
        "forged_pass",
        "broker_outage",
        "crash_while_unlocked",
    }


def test_a_scenario_that_is_not_met_fails_with_its_step_and_exit_status_1(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(
        'name = "wrong"\nsummary = "a doorstep pass does not unlock"\n'
        '[[step]]\nsend = "arriving"\n[[step]]\nsend = "at_door"\n'
        '[[step]]\nexpect = "delivery.unlocked"\nwithin_s = 2\n'
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator.cli",
            "scenario",
            "run",
            str(wrong),
            "--report",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "step 3 (expect): no delivery.unlocked" in result.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["verdict"]["passed"] is False
    assert "FAILED" in (tmp_path / "out" / "report.html").read_text()
