"""The bench's table: each figure beside its floor, printed as it is measured and written as
JSON under bench-results/ (one file per run) for the README and for comparing runs."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parents[2] / "bench-results"


class Results:
    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[dict[str, Any]] = []

    def add(
        self, figure: str, doorstep: str, floor: str = "", ratio: str = "", goal: str = ""
    ) -> None:
        row = {"figure": figure, "doorstep": doorstep, "floor": floor, "ratio": ratio, "goal": goal}
        self.rows.append(row)
        print(f"{figure:<34} {doorstep:<26} {floor:<26} {ratio:<14} {goal}", flush=True)

    def header(self) -> None:
        print(f"{'figure':<34} {'doorstep':<26} {'floor':<26} {'ratio':<14} goal")

    def write(self) -> Path:
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"{stamp}-{self.name}.json"
        path.write_text(
            json.dumps(
                {
                    "when": stamp,
                    "machine": {
                        "cores": os.cpu_count(),
                        "python": platform.python_version(),
                        "platform": platform.platform(),
                    },
                    "rows": self.rows,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        print(f"written: {path}")
        return path
