"""`make bench`: the Pi's clip path as a Pi 5 runs it (no H.264 hardware), on picamera2's own
source with libcamera's binding simulated below it (tests/pi/picamera2_stack.py): the ISP's
small YUV420 stream, the masks burned into it by doorstep's pre_callback, picamera2's
LibavH264Encoder (libx264) and its Output, handed to the recorder as packets. The floor is PyAV
encoding the same YUV420 frames alone with the encoder's own settings.

CPU is the process's, less the simulated sensor's thread (it fills the buffers, which on a Pi is
the camera's and the ISP's work, not the CPU's), per second of video. A Pi 4 hands the encoding
to its H.264 block, so there the encoder's share leaves the CPU too; this machine has none."""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from fractions import Fraction

import av
import numpy as np

from edge.hardware.pi_camera import CameraSetup, PiCamera
from edge.hardware.pi_video import PiVideo
from edge.hardware.video import VideoFormat
from tests.bench.results import Results
from tests.pi.picamera2_stack import MemfdAllocator

FPS = 10
SECONDS = 20
SIZE = (640, 480)
MASKS = [[(0.78, 0.12), (1.0, 0.12), (1.0, 0.78), (0.78, 0.78)]]
TICK = os.sysconf("SC_CLK_TCK")


def thread_cpu_s(native_id: int) -> float:
    with open(f"/proc/self/task/{native_id}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def sensor_thread() -> threading.Thread:
    return next(t for t in threading.enumerate() if t.name == "libcamera-sensor")


def pi_path(seconds: int) -> tuple[float, int]:
    """CPU per second of video (the sensor's thread left out), and the packets made."""
    camera = PiCamera(CameraSetup((1280, 720)), allocator=MemfdAllocator)
    source = PiVideo(camera, VideoFormat(FPS, *SIZE, MASKS))
    sink: queue.Queue = queue.Queue()
    source.start(sink.put)
    source.want(True)
    sink.get(timeout=10)  # running: the encoder has made its first packet
    sensor = sensor_thread().native_id
    assert sensor is not None
    cpu, sensed = time.process_time(), thread_cpu_s(sensor)
    made = 0
    for _ in range(seconds * FPS):
        sink.get(timeout=10)
        made += 1
    spent = (time.process_time() - cpu) - (thread_cpu_s(sensor) - sensed)
    source.stop()
    camera.close()
    return spent / (made / FPS), made


def floor(seconds: int) -> float:
    """PyAV alone: grey YUV420 frames with the masked corner black, as the Pi path encodes
    them, with LibavH264Encoder's settings (ultrafast, zerolatency, its MEDIUM bitrate)."""
    width, height = SIZE
    stream = av.open("/dev/null", "w", format="null").add_stream("h264", rate=FPS)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    context = stream.codec_context
    context.bit_rate = int(7e6 * ((width * height * FPS) / (1920 * 1080 * 30)) ** 0.5)
    context.gop_size = FPS
    context.time_base = Fraction(1, 1_000_000)
    context.options = {"preset": "ultrafast", "tune": "zerolatency", "deblock": "1"}
    picture = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
    picture[height // 8 : height * 3 // 4, width * 3 // 4 :] = 0
    start = time.process_time()
    for n in range(seconds * FPS):
        picture[0, :] = n % 256  # the sensor's frame number, as the simulated one writes it
        frame = av.VideoFrame.from_numpy_buffer(picture, format="yuv420p", width=width)
        frame.pts = n * 1_000_000 // FPS
        context.encode(frame)
    return (time.process_time() - start) / seconds


def main() -> None:
    # picamera2's close() makes a fresh DmaAllocator, which finds no dma-heap on this machine
    # and complains from its __del__ at exit: noise, not the bench's.
    sys.unraisablehook = lambda _: None
    results = Results("pi-video")
    results.header()
    floor(2)  # warm both: the first encoder pays for loading libx264
    pi_path(2)
    base = floor(SECONDS)
    cpu, made = pi_path(SECONDS)
    results.add(
        "Pi 5 clip path CPU per video s",
        f"{cpu * 1000:.1f} ms",
        f"{base * 1000:.1f} ms (PyAV alone)",
        f"{cpu / base:.2f}x",
        f"640x480 at 10 fps: {cpu * 100:.1f} % of a core ({made} frames)",
    )
    results.write()


if __name__ == "__main__":
    main()
