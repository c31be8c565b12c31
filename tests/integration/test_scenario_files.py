"""Scenario files: the shipped ones load, and a file the runner cannot use is refused at load
with the file, the step and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.scenario import load, names


@pytest.mark.parametrize("name", names())
def test_every_shipped_scenario_loads(name: str) -> None:
    scenario = load(name)
    assert scenario.name == name and scenario.summary and scenario.steps


@pytest.mark.parametrize(
    "text, problem",
    [
        (
            'name = "x"\nsummary = "y"\n[[step]]\nsend = "arriving"\nexpect = "z"\n',
            "step.0: Value error, a step has exactly one of",
        ),
        (
            'name = "x"\nsummary = "y"\n[[step]]\nsim = "door"\n',
            "sim and owner steps need a payload",
        ),
        ('name = "x"\nsummary = "y"\n[[step]]\nsend = "open_sesame"\n', "step.0.send"),
        ('name = "x"\nsummary = "y"\n[[step]]\nexpct = "delivery.arriving"\n', "step.0.expct"),
        ('name = "x"\nsummary = "y"\n', "step: Field required"),
        ('name = "x\n', "not TOML"),
    ],
)
def test_a_bad_scenario_file_is_refused_with_the_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=str(path)) as refused:
        load(str(path))
    assert problem in str(refused.value)


def test_an_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ValueError, match="there are: broker_outage"):
        load("teleport")
