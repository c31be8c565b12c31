"""Every claim check of docs/protocol.md §2, in table order, with no keys, no I/O and no clock."""

from __future__ import annotations

import math

import pytest

from edge.domain.passes import Courier, Pass, PassPolicy, Rejection, check_claims

NOW = 1_800_000_000.0
POLICY = PassPolicy(device_id="porch-1")


def claims(cmd: object = "at_door", **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "iss": "cloud",
        "aud": "porch-1",
        "jti": "j-1",
        "iat": NOW - 10,
        "exp": NOW + 50,
        "cmd": cmd,
        "delivery_id": "D-1",
    }
    if cmd == "arriving":
        body.update(mode="doorstep", courier={"id": "c1", "name": "Sam"}, exp=NOW + 3600)
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def reason(body: object, cmd: str = "at_door", synced: bool = True, now: float = NOW) -> str | None:
    result = check_claims(body, cmd, POLICY, now, synced)
    return result.reason if isinstance(result, Rejection) else None


def test_a_valid_command_pass_is_accepted() -> None:
    result = check_claims(claims(), "at_door", POLICY, NOW, True)
    assert result == Pass(
        cmd="at_door", jti="j-1", iss="cloud", delivery_id="D-1", iat=NOW - 10, exp=NOW + 50
    )


def test_a_valid_grant_carries_mode_courier_and_confidentiality() -> None:
    result = check_claims(claims("arriving", confidential=True), "arriving", POLICY, NOW, True)
    assert isinstance(result, Pass)
    assert (result.mode, result.courier, result.confidential) == (
        "doorstep",
        Courier("c1", "Sam"),
        True,
    )


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        None,
        claims(iss=...),
        claims(aud=...),
        claims(jti=...),
        claims(iat=...),
        claims(exp=...),
        claims(cmd=...),
        claims(delivery_id=...),
        claims(iss=1),
        claims(aud=["porch-1"]),
        claims(jti=7),
        claims(iat="now"),
        claims(exp=True),
        claims(exp=math.inf),
        claims(iat=math.nan),
        claims(nbf="soon"),
        claims(jti=""),
        claims(jti="j" * 129),
        claims(cmd="done"),  # does not match the topic
        claims(delivery_id="D 1"),
        claims(delivery_id="D/1"),
        claims(delivery_id="x" * 65),
        claims(delivery_id=""),
    ],
)
def test_malformed_claims(body: object) -> None:
    assert reason(body) == "malformed"


@pytest.mark.parametrize(
    "overrides",
    [
        {"mode": ...},
        {"mode": "garage"},
        {"courier": ...},
        {"courier": "Sam"},
        {"courier": {"id": "c1"}},
        {"courier": {"id": 1, "name": "Sam"}},
        {"confidential": "yes"},
    ],
)
def test_malformed_grant_claims(overrides: dict[str, object]) -> None:
    assert reason(claims("arriving", **overrides), "arriving") == "malformed"


def test_checks_run_in_table_order() -> None:
    # Wrong device AND unsynced AND expired: the earliest check in the table names the reason.
    body = claims(aud="porch-2", exp=NOW - 100, iat=NOW - 110)
    assert reason(body, synced=False) == "wrong_device"
    assert reason(claims(exp=NOW - 100, iat=NOW - 110), synced=False) == "clock_unsynced"
    assert reason(claims(exp=NOW - 100, iat=NOW - 1000)) == "expired"


def test_wrong_device() -> None:
    assert reason(claims(aud="porch-2")) == "wrong_device"


def test_unsynchronised_clock_rejects_everything_else_valid() -> None:
    assert reason(claims(), synced=False) == "clock_unsynced"


def test_expiry_has_clock_skew_leeway() -> None:
    assert reason(claims(exp=NOW - 29, iat=NOW - 60)) is None
    assert reason(claims(exp=NOW - 30, iat=NOW - 60)) == "expired"


def test_not_before_has_clock_skew_leeway() -> None:
    assert reason(claims(nbf=NOW + 29)) is None
    assert reason(claims(nbf=NOW + 31)) == "not_yet_valid"


def test_expired_is_checked_before_not_yet_valid() -> None:
    assert reason(claims(nbf=NOW + 100, exp=NOW - 100, iat=NOW - 110)) == "expired"


def test_command_lifetime_limit() -> None:
    assert reason(claims(iat=NOW - 10, exp=NOW + 110)) is None
    assert reason(claims(iat=NOW - 10, exp=NOW + 111)) == "lifetime_too_long"


def test_grant_lifetime_limit() -> None:
    ok = claims("arriving", iat=NOW, exp=NOW + 86400)
    too_long = claims("arriving", iat=NOW, exp=NOW + 86401)
    assert reason(ok, "arriving") is None
    assert reason(too_long, "arriving") == "lifetime_too_long"


def test_rejection_echoes_only_a_well_formed_jti() -> None:
    assert check_claims(claims(aud="x"), "at_door", POLICY, NOW, True).jti == "j-1"
    assert check_claims(claims(jti=5), "at_door", POLICY, NOW, True).jti is None


def test_a_pass_issued_in_the_devices_future_is_not_yet_valid() -> None:
    # Five years ahead with a minute's lifetime: before, it unlocked at once.
    five_years = 5 * 365 * 86400
    assert reason(claims(iat=NOW + five_years, exp=NOW + five_years + 60)) == "not_yet_valid"
    assert reason(claims(iat=NOW + 29, exp=NOW + 60)) is None  # within the clock skew
    assert reason(claims(iat=NOW + 31, exp=NOW + 60)) == "not_yet_valid"


@pytest.mark.parametrize(
    "times",
    [
        {"iat": 1e300, "exp": 1e300},  # a grant that would never expire
        {"iat": NOW + 10, "exp": NOW - 10},  # a negative lifetime
        {"iat": NOW, "exp": NOW},  # no lifetime at all
        {"iat": -5.0, "exp": NOW + 50},
        {"iat": NOW - 10, "exp": 1e12},
    ],
)
def test_absurd_or_backwards_times_are_malformed(times: dict[str, float]) -> None:
    assert reason(claims(**times)) == "malformed"
    assert reason(claims("arriving", **times), "arriving") == "malformed"
