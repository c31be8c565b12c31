"""Text from outside (a pass's jti, a courier's name, a topic) made safe for one line of a log
or a terminal: control characters (a newline would forge a log line) and the bidirectional
overrides (U+202E turns what follows around on screen) are shown as escapes, not obeyed."""

from __future__ import annotations

import logging
import re

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class OneLineFormatter(logging.Formatter):
    """Every record's message is one line, whatever its arguments held; a traceback (ours, not
    an outsider's) still follows it on lines of its own."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = printable(record.message)
        return super().formatMessage(record)
