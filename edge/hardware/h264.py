"""The camera's pictures as H.264, and a run of H.264 packets as an MP4 file, with PyAV (FFmpeg's
libx264 and its MP4 muxer): no encoder or container of our own making.

Every keyframe carries its own SPS and PPS (x264's `repeat-headers`), so a clip cut at any
keyframe is complete on its own; the MP4 is muxed from the packets as they are (no second
encode), with times from the sensor's clock."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

MS = Fraction(1, 1000)


@dataclass(frozen=True)
class Packet:
    """One encoded frame: when the sensor captured it (monotonic ns), its frame number, and
    whether a clip may start here."""

    sensor_ns: int
    sequence: int
    keyframe: bool
    data: bytes


class H264Encoder:
    """Pictures in, packets out, one packet per picture (no B-frames, no delay): a keyframe
    every ``keyframe_s`` seconds, so a clip's pre-roll starts at most that much early."""

    CODEC = "libx264"

    def __init__(self, width: int, height: int, fps: float, keyframe_s: float = 1.0) -> None:
        import av  # noqa: PLC0415 - only a device that records video loads FFmpeg

        self.size = (width, height)
        self._av = av
        context: Any = av.CodecContext.create(self.CODEC, "w")
        context.width, context.height, context.pix_fmt = width, height, "yuv420p"
        context.time_base = MS
        context.framerate = Fraction(fps).limit_denominator(1000)
        context.gop_size = max(1, round(fps * keyframe_s))
        context.options = {
            "preset": "ultrafast",  # the least CPU per frame; a doorstep scene compresses well
            "tune": "zerolatency",  # a packet for every picture, at once
            "crf": "28",
            "x264-params": "repeat-headers=1",
        }
        self._context = context
        self._start_ns: int | None = None

    def encode(self, image: Any, sequence: int, sensor_ns: int) -> list[Packet]:
        """``image`` (a PIL picture of any size; scaled when it is not the video's)."""
        if image.size != self.size:
            image = image.resize(self.size)
        frame = self._av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
        if self._start_ns is None:
            self._start_ns = sensor_ns
        frame.pts = (sensor_ns - self._start_ns) // 1_000_000
        frame.time_base = MS
        return [
            Packet(sensor_ns, sequence, bool(packet.is_keyframe), bytes(packet))
            for packet in self._context.encode(frame)
        ]


def mp4(packets: Sequence[Packet]) -> bytes:
    """The packets (the first a keyframe) as an MP4 file, timed by their sensor times."""
    import av  # noqa: PLC0415

    assert packets and packets[0].keyframe, "a clip starts on a keyframe"
    # The first keyframe carries the SPS and PPS: read as raw H.264, it describes the stream.
    with av.open(io.BytesIO(packets[0].data), format="h264") as headers:
        template = headers.streams.video[0]
        buffer = io.BytesIO()
        with av.open(buffer, "w", format="mp4") as out:
            stream = out.add_stream_from_template(template)
            stream.time_base = MS
            start = packets[0].sensor_ns
            last = -1
            for packet in packets:
                pts = max(last + 1, (packet.sensor_ns - start) // 1_000_000)  # strictly rising
                last = pts
                muxed = av.Packet(packet.data)
                muxed.pts = muxed.dts = pts
                muxed.time_base = MS
                muxed.is_keyframe = packet.keyframe
                muxed.stream = stream
                out.mux(muxed)
    return buffer.getvalue()
