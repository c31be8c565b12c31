"""`make bench`: the clip path's cost per second of video, beside its floor. doorstep's path is
what the recorder does with each frame (the privacy masks burned in, H.264 by PyAV into the
ring) and with each clip (cut from a keyframe, muxed to MP4, hashed, stored); the floor is
PyAV encoding the very same frames alone. Frames are rendered before either is timed: the
simulator's Pillow porch is not a camera's cost. CPU is the process's (libx264's threads
included) per second of video; memory is the encoded video the ring holds, and the process's
resident set, with only the pre-roll kept and with a two-minute clip open."""

from __future__ import annotations

import hashlib
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av

from edge.hardware.h264 import H264Encoder, mp4
from edge.hardware.jpeg import masked
from edge.hardware.sim_camera import SimCamera
from edge.store.photos import NewPhoto, PhotoStore
from edge.workers.clip_ring import NS, ClipRing
from tests.bench.results import Results

FPS = 10
SECONDS = 30
MASKS = [[(0.78, 0.12), (1.0, 0.12), (1.0, 0.78), (0.78, 0.78)]]


def frames(width: int = 640, height: int = 480) -> list:
    camera = SimCamera(width, height, "bench")
    return [camera.capture().image for _ in range(FPS * 4)]  # a 4 s loop of distinct frames


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4


def floor(pictures: list, seconds: int) -> float:
    """PyAV alone: the same frames, the same encoder settings, nothing else."""
    context = av.CodecContext.create("libx264", "w")
    context.width, context.height, context.pix_fmt = 640, 480, "yuv420p"
    context.time_base = Fraction(1, 1000)
    context.framerate = Fraction(FPS)
    context.gop_size = FPS
    context.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "28"}
    start = time.process_time()
    for n in range(seconds * FPS):
        frame = av.VideoFrame.from_image(pictures[n % len(pictures)])
        frame.pts = n * 1000 // FPS
        frame.time_base = Fraction(1, 1000)
        context.encode(frame)
    return (time.process_time() - start) / seconds


def doorstep(pictures: list, seconds: int, store: PhotoStore) -> tuple[float, int, int]:
    """The recorder's work for ``seconds`` of video held as one clip, then cut and stored:
    CPU per second of video, the ring's bytes and the RSS growth with the clip open."""
    encoder = H264Encoder(640, 480, FPS)
    ring = ClipRing(5 * NS, 5 * NS, 600 * NS)
    ring.open("bench", 0, key="hold")
    before = rss_kib()
    start = time.process_time()
    for n in range(seconds * FPS):
        picture = masked(pictures[n % len(pictures)], MASKS)
        for packet in encoder.encode(picture, n, n * NS // FPS):
            ring.add(packet)
    held, grown = ring.held_bytes(), rss_kib() - before
    ring.close("hold", seconds * NS)
    [cut] = ring.overdue(seconds * NS + 10 * NS, 0)
    data = mp4(cut.packets)
    hashlib.sha256(data).hexdigest()
    store.save_all([NewPhoto("bench-clip", "D-1", data, suffix=".mp4")])
    return (time.process_time() - start) / seconds, held, grown


def idle_ring(pictures: list) -> int:
    """The bytes the ring holds with no clip open, after a minute of video: the pre-roll."""
    encoder = H264Encoder(640, 480, FPS)
    ring = ClipRing(5 * NS, 5 * NS, 120 * NS)
    for n in range(60 * FPS):
        for packet in encoder.encode(pictures[n % len(pictures)], n, n * NS // FPS):
            ring.add(packet)
    return ring.held_bytes()


def main() -> None:
    results = Results("clips")
    pictures = frames()
    results.header()
    with tempfile.TemporaryDirectory() as folder:
        store = PhotoStore(Path(folder))
        floor(pictures, 3)  # warm both: the first encoder pays for loading libx264
        doorstep(pictures, 3, store)
        base = floor(pictures, SECONDS)
        cpu, held, grown = doorstep(pictures, SECONDS, store)
        clip = next(Path(folder).rglob("bench-clip.mp4")).stat().st_size
    results.add(
        "clip path CPU per video second",
        f"{cpu * 1000:.1f} ms",
        f"{base * 1000:.1f} ms (PyAV alone)",
        f"{cpu / base:.2f}x",
        f"640x480 at 10 fps: {cpu * 100:.1f} % of a core",
    )
    results.add(
        f"ring, a {SECONDS} s clip open",
        f"{held / 1024:.0f} KiB encoded",
        f"{clip / 1024:.0f} KiB (its MP4)",
        f"{held / clip:.2f}x",
        f"RSS grew {grown} KiB",
    )
    idle = idle_ring(pictures)
    results.add(
        "ring, nothing open (pre-roll 5 s)",
        f"{idle / 1024:.0f} KiB encoded",
        f"{clip / SECONDS * 5 / 1024:.0f} KiB (5 s of the clip)",
        f"{idle / (clip / SECONDS * 5):.2f}x",
        "bounded by the pre-roll",
    )
    results.write()


if __name__ == "__main__":
    main()
