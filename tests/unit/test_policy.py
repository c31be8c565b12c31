"""The homeowner's rules (docs/protocol.md §11): in-home hours in the device's time zone
(daylight saving included), a courier allow-list, and keys that may only grant some modes.
Pure: zones are loaded once here, times are given."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from edge.domain.machine import step
from edge.domain.model import ProveCamera, Rules, State
from edge.domain.passes import Courier, Mode, Signer
from edge.domain.policy import InHomeHours, Policy, Window
from tests.unit.helpers import at, command, flat, grant, proof, rejections, run

LONDON = ZoneInfo("Europe/London")
DOORSTEP_ONLY = Signer("acme", frozenset({Mode.DOORSTEP}))


def wall(text: str, zone: ZoneInfo = LONDON, fold: int = 0) -> float:
    """The instant a clock in ``zone`` shows ``text`` ("2027-03-28 00:30")."""
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold).timestamp()


def hours(**days: list[str]) -> InHomeHours:
    return InHomeHours.parse(LONDON, days)


# --- windows and hours ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, start, end",
    [("09:00-12:00", 540, 720), ("00:00-24:00", 0, 1440), ("23:59-24:00", 1439, 1440)],
)
def test_a_window_is_hh_mm_to_hh_mm(text: str, start: int, end: int) -> None:
    assert Window.parse(text) == Window(start, end)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("9-12", "not HH:MM-HH:MM"),
        ("09:00-12:60", "not HH:MM-HH:MM"),
        ("12:00-09:00", "crosses midnight"),
        ("10:00-10:00", "does not end after"),
        ("24:00-24:00", "not HH:MM-HH:MM"),
        ("09:00-24:30", "ends after 24:00"),
    ],
)
def test_a_bad_window_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Window.parse(text)


def test_hours_are_local_start_inclusive_end_exclusive_and_per_weekday() -> None:
    policy = hours(fri=["09:00-12:00", "14:00-18:00"])  # 2027-01-15 is a Friday
    assert policy.allows(wall("2027-01-15 09:00"))
    assert policy.allows(wall("2027-01-15 11:59:59"))
    assert not policy.allows(wall("2027-01-15 12:00"))
    assert policy.allows(wall("2027-01-15 14:30"))
    assert not policy.allows(wall("2027-01-16 10:00"))  # Saturday: no windows


def test_hours_follow_the_local_clock_in_summer_and_winter() -> None:
    policy = hours(mon=["09:00-10:00"])
    assert policy.allows(datetime(2027, 1, 11, 9, 30, tzinfo=ZoneInfo("UTC")).timestamp())
    assert not policy.allows(datetime(2027, 7, 12, 9, 30, tzinfo=ZoneInfo("UTC")).timestamp())
    assert policy.allows(datetime(2027, 7, 12, 8, 30, tzinfo=ZoneInfo("UTC")).timestamp())


def test_the_hour_skipped_when_clocks_go_forward_never_comes() -> None:
    policy = hours(sun=["01:00-02:00"])  # 2027-03-28: 01:00 GMT becomes 02:00 BST
    last_gmt = wall("2027-03-28 00:59:59")
    assert not policy.allows(last_gmt)
    assert not policy.allows(last_gmt + 1)  # already 02:00:00 on the wall
    assert datetime.fromtimestamp(last_gmt + 1, LONDON).hour == 2


def test_the_hour_repeated_when_clocks_go_back_counts_twice() -> None:
    policy = hours(sun=["01:00-02:00"])  # 2027-10-31: 02:00 BST becomes 01:00 GMT
    first, second = wall("2027-10-31 01:30", fold=0), wall("2027-10-31 01:30", fold=1)
    assert second - first == 3600
    assert policy.allows(first) and policy.allows(second)
    assert not policy.allows(wall("2027-10-31 02:00", fold=1))


# --- the machine applies them ---------------------------------------------------------------


def rules(**policy: object) -> Rules:
    return Rules(in_home_enabled=True, policy=Policy(**policy))  # type: ignore[arg-type]


def at_door_refusal(state: State, rules: Rules, t: float = 0, **kwargs: object) -> list[str]:
    return rejections(flat(step(state, command("at_door", **kwargs), at(t), rules)))  # type: ignore[arg-type]


def test_a_doorstep_only_key_cannot_grant_in_home_but_can_grant_doorstep() -> None:
    r = rules()
    _, actions = run(State(), grant(mode="in_home", signer=DOORSTEP_ONLY), rules=r)
    assert rejections(actions) == ["mode_not_allowed"]
    state, actions = run(State(), grant(mode="doorstep", signer=DOORSTEP_ONLY), rules=r)
    assert rejections(actions) == [] and state.deliveries


def test_a_doorstep_only_key_never_opens_the_door_even_for_anothers_grant() -> None:
    r = rules()
    state = run(State(), grant(mode="in_home"), rules=r)[0]
    t = step(state, command("at_door", signer=DOORSTEP_ONLY), at(0), r)
    assert rejections(flat(t)) == ["mode_not_allowed"]
    assert not any(isinstance(a, ProveCamera) for a in t.actions)


def test_the_courier_allow_list_applies_to_in_home_grants_only() -> None:
    r = rules(couriers=frozenset({"c1"}))
    stranger = Courier("c9", "Kim")
    _, actions = run(State(), grant(mode="in_home", courier=stranger), rules=r)
    assert rejections(actions) == ["courier_not_allowed"]
    assert rejections(run(State(), grant(mode="doorstep", courier=stranger), rules=r)[1]) == []
    assert rejections(run(State(), grant(mode="in_home"), rules=r)[1]) == []


def test_a_courier_struck_off_after_the_grant_is_refused_at_the_door() -> None:
    state = run(State(), grant(mode="in_home"), rules=rules())[0]
    assert at_door_refusal(state, rules(couriers=frozenset({"c2"}))) == ["courier_not_allowed"]


def test_outside_the_hours_a_grant_is_accepted_but_the_door_stays_shut() -> None:
    closed = rules(in_home_hours=hours(fri=["10:00-12:00"]))  # at(0) is Friday 08:00 GMT
    state, actions = run(State(), grant(mode="in_home"), rules=closed)
    assert rejections(actions) == [] and state.deliveries  # the courier may be early
    assert at_door_refusal(state, closed) == ["outside_hours"]
    assert at_door_refusal(state, closed, t=2 * 3600) == []  # 10:00: the window is open


def test_hours_are_asked_again_when_the_camera_answers() -> None:
    r = rules(in_home_hours=hours(fri=["07:00-08:00"]))
    state = run(State(), grant(mode="in_home"), rules=r, now=at(-1))[0]
    state = run(state, command("at_door"), rules=r, now=at(-0.5))[0]  # 07:59:59.5
    t = step(state, proof(t=0.1), at(0.1), r)  # 08:00:00.1: the window has closed
    assert rejections(flat(t)) == ["outside_hours"] and t.lock is None


def test_the_gates_keep_their_order() -> None:
    r = rules(in_home_hours=hours(fri=["08:00-09:00"]), couriers=frozenset({"c1"}))
    state = run(
        State(),
        grant(mode="in_home"),
        grant("D-2", jti="g-2", mode="in_home"),
        command("at_door"),
        proof(),
        rules=r,
    )[0]  # D-1 holds the door
    assert at_door_refusal(state, r, delivery_id="D-2") == ["busy"]
    assert at_door_refusal(state, r, delivery_id="D-2", signer=DOORSTEP_ONLY) == [
        "mode_not_allowed"
    ]  # the key before the hours
    assert at_door_refusal(state, r, t=3600, delivery_id="D-2") == ["outside_hours"]  # not busy
    off = Rules(in_home_enabled=False, policy=r.policy)
    assert at_door_refusal(state, off, t=3600, delivery_id="D-2") == ["mode_not_allowed"]


def test_no_policy_means_no_extra_gate() -> None:
    state = run(State(), grant(mode="in_home"), rules=rules())[0]
    assert at_door_refusal(state, rules()) == []
