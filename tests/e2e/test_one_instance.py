"""One daemon per data dir: a second `doorstep run` with the same config (the service and a run
by hand, say) is refused at once, naming the process that runs, and the first goes on untouched;
a daemon killed with -9 leaves nothing that stops the next start."""

from __future__ import annotations

import subprocess
import sys


def second_run(config) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_second_run_on_the_same_data_dir_is_refused_and_the_first_goes_on(device) -> None:
    second = second_run(device.config)
    assert second.returncode == 1
    pid = device.process.pid
    assert (
        f"doorstep: cannot start: another doorstep (pid {pid}) is running with data dir "
        f"{device.folder / 'data'}: stop it first"
    ) in second.stderr
    device.send("arriving", device.mint("arriving", mode="doorstep"))
    device.cloud.wait_event("delivery.arriving")  # the first still works, still online
    assert device.cloud.received.availability[-1] == "online"


def test_a_daemon_killed_with_9_does_not_block_the_next_start(device) -> None:
    device.process.kill()
    device.process.wait(timeout=10)
    device.daemon.start()
    device.send("arriving", device.mint("arriving", mode="doorstep", delivery_id="D-2"))
    device.cloud.wait_event("delivery.arriving", delivery_id="D-2")
