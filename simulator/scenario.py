"""Scenarios as data: a TOML file names a situation, the daemon config it needs, and the steps
that play it (passes, the simulated world, the homeowner, crashes, a broker outage) and check
it (an event, a state, a log line, within a deadline; an event that must never come).

The shipped scenarios are the `*.toml` files in `simulator/scenarios/`; `doorstep-sim scenario
run` also takes the path of a file of your own. A file the runner cannot use is refused at load
with the step and the problem, before anything starts.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FOLDER = Path(__file__).parent / "scenarios"
ACTIONS = (
    "send",
    "sim",
    "owner",
    "expect",
    "expect_state",
    "expect_log",
    "receipt",
    "never",
    "never_photos",
    "daemon",
    "broker",
    "check_seq",
)


class Step(BaseModel):
    """One step: exactly one action key, and the options that go with it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    note: str | None = Field(None, description="said in the timeline before the step")
    # a pass from the cloud: cmd/<send>
    send: Literal["arriving", "at_door", "done", "cancel"] | None = None
    delivery: str = "D-1"
    mode: Literal["doorstep", "in_home"] | None = None
    confidential: bool = False
    signed_by: Literal["cloud", "stranger"] = "cloud"
    audience: str | None = Field(None, description="aud: another device_id than this one")
    replay: bool = Field(False, description="send the last pass of this cmd and delivery again")
    # the simulated world and the homeowner: sim/<sim>, owner/<owner>
    sim: Literal["door", "doorbell", "camera", "lock", "parcel"] | None = None
    owner: Literal["lock", "in_home", "snapshot"] | None = None
    payload: str | None = None
    # checks, each waiting until ``within_s``
    expect: str | None = Field(None, description="an event type, with ``fields``")
    expect_state: dict[str, Any] | None = None
    expect_log: str | None = Field(None, description="text in the daemon's log")
    receipt: str | None = Field(
        None,
        description="a delivery id: its signed receipt comes "
        "(every receipt is verified when the scenario ends)",
    )
    never: str | None = Field(
        None,
        description="an event type (with ``fields``) that must not "
        "come, checked when the scenario ends",
    )
    never_photos: bool | None = Field(
        None, description="no photo bytes leave the device (checked when the scenario ends)"
    )
    fields: dict[str, Any] = Field(default_factory=dict)
    count: int = Field(1, ge=1, description="expect, expect_log: at least this many")
    within_s: float = Field(15.0, gt=0)
    check_seq: bool | None = Field(None, description="every event's seq, 1..n, without a gap")
    # the daemon and the broker
    daemon: Literal["kill", "stop", "start"] | None = None
    broker: Literal["down", "up"] | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        chosen = [name for name in ACTIONS if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(
                f"a step has exactly one of {', '.join(ACTIONS)}; this one has "
                f"{', '.join(chosen) or 'none'}"
            )
        if (self.sim or self.owner) and self.payload is None:
            raise ValueError("sim and owner steps need a payload")
        return self

    @property
    def action(self) -> str:
        return next(name for name in ACTIONS if getattr(self, name) is not None)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    summary: str
    config: str = Field("", description="TOML added to the daemon's sim config")
    steps: list[Step] = Field(min_length=1, alias="step")


def names() -> list[str]:
    return sorted(path.stem for path in FOLDER.glob("*.toml"))


def load(name_or_path: str) -> Scenario:
    """A shipped scenario by name, or a scenario file by path. Raises ValueError with the
    file and the problem."""
    path = Path(name_or_path)
    if not path.suffix:
        path = FOLDER / f"{name_or_path}.toml"
        if not path.is_file():
            raise ValueError(f"no scenario {name_or_path!r}; there are: {', '.join(names())}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return Scenario.model_validate(data)
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not TOML: {error}") from None
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise ValueError(f"{path}: {problems}") from None
