"""The journal under a flood of what the device cannot use: a complaint that repeats is said
once a minute with a count, so the lines that matter are not buried."""

from __future__ import annotations

import logging
from pathlib import Path

from tests.inprocess import in_process


def test_a_flood_on_an_unexpected_topic_is_one_line(
    tmp_path: Path, cloud_keys, mosquitto, caplog
) -> None:
    caplog.set_level(logging.INFO)
    with in_process(tmp_path, cloud_keys, mosquitto, "porch-fl") as daemon:
        for _ in range(200):  # `cmd/#` also matches `cmd` itself: no command can be there
            daemon.cloud.publish("cmd", "junk")
        daemon.cloud.publish("cmd/bogus", "after the flood")  # in order on one connection
        daemon.cloud.wait_event("command.rejected", cmd="bogus")
    said = [r.getMessage() for r in caplog.records if "event=unexpected_topic" in r.getMessage()]
    assert said == ["event=unexpected_topic topic=doorstep/porch-fl/cmd count=1"]
