"""When a frame proves the camera is watching: it is newer than the frame before it by both
the camera's frame counter and the sensor's own timestamp. A camera that hangs, or is fed its
last picture again (the 2017 attack on Amazon Key), repeats both; an image with a new counter
but an old timestamp (a replayed buffer) is caught by the second.
"""

from __future__ import annotations

from dataclasses import dataclass

NS = 1_000_000_000


@dataclass(frozen=True)
class FrameStamp:
    sequence: int  # the camera's frame counter
    sensor_ns: int  # when the sensor captured it, on the monotonic clock, in nanoseconds


def not_advanced(previous: FrameStamp | None, frame: FrameStamp) -> str | None:
    """Why ``frame`` is no evidence of a live camera after ``previous``, or None when it is."""
    if previous is None:
        return "no earlier frame to compare with"
    if frame.sequence <= previous.sequence:
        return f"frame counter stopped advancing at {frame.sequence}"
    if frame.sensor_ns <= previous.sensor_ns:
        return f"sensor timestamp stopped advancing at {frame.sensor_ns}"
    return None
