"""`make demo` runs `doorstep-sim demo`: the same command, into a temporary folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_demo_writes_a_report_with_verified_photos(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "simulator.cli", "demo", "--out", str(out),
                             "--pace", "0"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert len(report["photos"]) >= 1
    assert report["sha256_verified"] and all(report["sha256_verified"].values())
    page = (out / "report.html").read_text()
    for photo_id in report["photos"]:
        assert f'src="photos/{photo_id}.jpg"' in page
        assert (out / "photos" / f"{photo_id}.jpg").read_bytes()[:2] == b"\xff\xd8"
    types = [e["type"] for e in report["events"]]
    assert "delivery.completed" in types and "command.rejected" in types
