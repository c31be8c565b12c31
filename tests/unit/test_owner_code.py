"""The owner's code: checked against a hash doorstep made, never raising on one it cannot read,
and always answered, so a check that goes wrong never leaves owner unlock `busy` for good."""

from __future__ import annotations

import threading

from edge.crypto.owner_code import check_code, hash_code
from edge.domain.model import CheckCode, CodeChecked
from edge.loop.effects import DeviceEffects

HASH = hash_code("246810", salt=b"0123456789abcdef")


def test_the_code_matches_its_hash_and_no_other() -> None:
    assert check_code("246810", HASH)
    assert not check_code("246811", HASH)


def test_a_hash_it_cannot_read_matches_nothing_and_raises_nothing() -> None:
    for stored in (
        "",
        "123456",
        "scrypt$n=16384,r=8,p=1$abc$abcd",
        "scrypt$n=3,r=8,p=1$c2FsdA==$c2FsdHNhbHRzYWx0c2FsdA==",
    ):
        assert not check_code("246810", stored)


def test_a_check_that_goes_wrong_is_still_answered_as_no_match(caplog) -> None:
    answers: list[object] = []
    answered = threading.Event()

    def submit(item: object) -> None:
        answers.append(item)
        answered.set()

    effects = DeviceEffects(
        capture=None,  # type: ignore[arg-type]  # no camera: only the code is checked
        signals=None,  # type: ignore[arg-type]
        code_hash=b"not text",  # type: ignore[arg-type]  # check_code raises
        submit=submit,
    )
    effects.carry_out(CheckCode(7, "246810"))
    assert answered.wait(10), "the check was never answered"
    assert answers == [CodeChecked(7, False)]
    assert any("event=owner_code_check_failed" in r.getMessage() for r in caplog.records)
