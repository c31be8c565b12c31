"""Text from outside never forges a log line or turns a terminal's text around."""

from __future__ import annotations

import io
import logging
from datetime import UTC

from edge.journal.safe_text import OneLineFormatter, printable
from edge.ops.history_view import table
from edge.store.history import PastDelivery


def test_controls_and_bidi_overrides_are_shown_not_obeyed() -> None:
    assert printable("j-1\nlevel=INFO event=unlocked") == "j-1\\u000alevel=INFO event=unlocked"
    assert printable("Sam\u202eevil") == "Sam\\u202eevil"
    assert printable("Zoë Ødegård 配達") == "Zoë Ødegård 配達"


def test_a_log_record_is_one_line_whatever_its_arguments_hold() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(OneLineFormatter("level=%(levelname)s %(message)s"))
    logger = logging.getLogger("test_safe_text")
    logger.addHandler(handler)
    try:
        logger.warning("event=pass_rejected jti=%s", "x\nlevel=INFO event=delivery.unlocked")
        try:
            raise ValueError("ours")
        except ValueError:
            logger.exception("event=bug")
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert (
        lines[0] == "level=WARNING event=pass_rejected jti=x\\u000alevel=INFO "
        "event=delivery.unlocked"
    )
    assert lines[1] == "level=ERROR event=bug" and lines[2].startswith("Traceback")


def test_doorstep_history_prints_a_couriers_name_as_text_not_as_terminal_commands() -> None:
    # A name from a pass, printed raw: a newline forged a row, U+202E turned the line around.

    past = PastDelivery(
        "D-1",
        "doorstep",
        "delivered",
        {"id": "c1", "name": "Sam\nD-2 delivered\u202eevil"},
        False,
        None,
        1.8e9,
        (),
        None,
        (),
    )
    shown = table([past], UTC)
    assert len(shown.splitlines()) == 2  # the header and one row
    assert "\\u000a" in shown and "\\u202e" in shown and "\u202e" not in shown
