"""Headless Chromium for the pages doorstep makes (the history page, the demo's report): the
page is loaded from a file, its scripts run on a virtual clock, and the DOM is read back.
VIDEO_PROBE, put at the end of a page's body, plays its first video: the page's title then
says `played <duration> <width>x<height> rgb <r>,<g>,<b>` (a pixel from the middle of a
decoded frame) or `error <code>`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM = next(
    (
        shutil.which(name)
        for name in ("chromium", "chromium-browser", "google-chrome")
        if shutil.which(name)
    ),
    None,
)

VIDEO_PROBE = """<script>
const v = document.querySelector("video");
function shown() {
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  const x = c.getContext("2d"); x.drawImage(v, 0, 0);
  const p = x.getImageData(c.width / 2, c.height / 2, 1, 1).data;
  document.title = "played " + v.duration.toFixed(2) + " " + v.videoWidth + "x" +
    v.videoHeight + " rgb " + p[0] + "," + p[1] + "," + p[2];
}
v.addEventListener("seeked", shown);  // a frame decoded at that time, not a blank surface
v.addEventListener("error", () => { document.title = "error " + v.error.code; });
v.preload = "auto";
v.currentTime = 0.3;
</script>"""


def dom_of(page: Path, budget_ms: int = 10000) -> str:
    """The DOM of ``page`` after its scripts ran, with nothing fetched from the network."""
    assert CHROMIUM is not None, "headless Chromium is not installed"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--allow-file-access-from-files",  # a report's clips are files beside it
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


def title_of(dom: str) -> str:
    return dom.split("<title>", 1)[1].split("</title>", 1)[0] if "<title>" in dom else dom[-300:]


def played(page: Path) -> tuple[float, str, int]:
    """Play ``page``'s first video (the page carries VIDEO_PROBE): its duration, its size as
    `WxH`, and how bright the middle of a decoded frame is (r + g + b)."""
    title = title_of(dom_of(page))
    assert title.startswith("played "), f"the video did not play: {title}"
    _, duration, size, _, rgb = title.split()
    return float(duration), size, sum(int(n) for n in rgb.split(","))
