"""`doorstep-sim demo` (`make demo`): the shipped `demo` scenario (simulator/scenarios/demo.toml),
a doorstep delivery and then an in-home one, end to end on loopback.

It starts the embedded broker, makes a fresh cloud key pair and data folder, runs the real
daemon (`doorstep run`) on the sim backend, then plays cloud and courier while printing a
timeline, checks every photo's hash and every signed receipt, and writes the photos and
report.html into the output folder it names. A scenario like any other: what it shows is data.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from simulator import scenario
from simulator.play import play


def run_demo(
    out: Path | None = None, pace_s: float = 0.6, broker_address: str | None = None
) -> int:
    """Run the demo; ``pace_s`` pauses between steps so a person can follow. Without
    ``broker_address`` ("HOST:PORT") it starts its own embedded broker."""
    out = out or Path("demo-output") / datetime.now().strftime("%Y%m%d-%H%M%S")
    print(f"doorstep demo: writing to {out.resolve()}", flush=True)
    verdict = play(scenario.load("demo"), out, broker_address, pace_s, embedded=True)
    print(f"\nreport: {verdict.report}")
    if not verdict.passed:
        print("demo failed: " + "; ".join(verdict.failures))
        print(f"the daemon's log follows\n{verdict.log}")
    return 0 if verdict.passed else 1
