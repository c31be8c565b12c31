"""The ring of encoded video and the clips cut from it, as plain data (sensor times passed
in): a clip starts on the keyframe at or before its pre-roll, ends `post_s` after its close,
is capped at `max_s`, is cut short when the camera goes quiet, and the ring keeps only the
pre-roll while nothing is open."""

from __future__ import annotations

import math

from edge.hardware.h264 import Packet
from edge.workers.clip_ring import NS, ClipRing

FPS = 10
STEP = NS // FPS


def packets(start_s: float, end_s: float, keyframe_every: int = 10) -> list[Packet]:
    """Frames at 10 a second from ``start_s`` to before ``end_s``; a keyframe every second."""
    first, last = math.ceil(start_s * FPS - 1e-9), math.ceil(end_s * FPS - 1e-9)
    return [Packet(n * STEP, n, n % keyframe_every == 0, b"x" * 100) for n in range(first, last)]


def feed(ring: ClipRing, frames: list[Packet]) -> list:
    cuts = []
    for packet in frames:
        cuts += ring.add(packet)
    return cuts


def ring(pre: float = 2, post: float = 1, cap: float = 60) -> ClipRing:
    return ClipRing(round(pre * NS), round(post * NS), round(cap * NS))


def test_a_held_clip_runs_from_the_keyframe_before_its_pre_roll_to_post_s_after_its_close() -> None:
    r = ring()
    assert feed(r, packets(0, 10.05)) == []
    r.open("hold", 10 * NS, key="D-1")  # at 10 s: the pre-roll reaches back to 8 s
    assert feed(r, packets(10.1, 20.05)) == []  # still held: nothing is cut
    assert r.close("D-1", 20 * NS)
    [cut] = feed(r, packets(20.1, 22))
    assert cut.token == "hold" and not cut.truncated
    assert cut.packets[0].sensor_ns == 8 * NS and cut.packets[0].keyframe
    assert cut.packets[-1].sensor_ns == 21 * NS  # the first frame at or past post_s is in it
    sequences = [p.sequence for p in cut.packets]
    assert sequences == list(range(sequences[0], sequences[-1] + 1))  # none missing
    assert round(cut.max_gap_s(), 3) == 0.1


def test_a_press_is_a_fixed_span_around_it() -> None:
    r = ring()
    feed(r, packets(0, 5.05))
    r.open("press", round(5.5 * NS))  # pre-roll to 3.5 s: the keyframe at 3 s starts it
    [cut] = feed(r, packets(5.1, 7))
    assert (cut.packets[0].sensor_ns, cut.packets[-1].sensor_ns) == (3 * NS, round(6.5 * NS))


def test_a_doorbell_pressed_again_while_its_clip_runs_makes_it_longer_not_another() -> None:
    r = ring()
    feed(r, packets(0, 5.05))
    assert r.open("press-1", 5 * NS, merge="doorbell")
    feed(r, packets(5.1, 5.55))
    assert not r.open("press-2", round(5.5 * NS), merge="doorbell")  # the same clip, longer
    assert r.open("elsewhere", round(5.5 * NS), merge="doorbell during D-1")  # another's own
    cuts = feed(r, packets(5.6, 8))
    [mashed] = [c for c in cuts if c.token == "press-1"]
    assert mashed.packets[-1].sensor_ns == round(6.5 * NS)  # post_s after the last press
    assert {c.token for c in cuts} == {"press-1", "elsewhere"}


def test_a_clip_is_capped_at_max_s_however_long_the_hold_lasts() -> None:
    r = ring(cap=5)
    feed(r, packets(0, 2.05))
    r.open("long", 2 * NS, key="owner")
    [cut] = feed(r, packets(2.1, 10))
    assert cut.truncated and cut.packets[-1].sensor_ns - cut.packets[0].sensor_ns <= 5 * NS
    assert not r.close("owner", 10 * NS)  # its hold relocks later: nothing left to close


def test_a_camera_that_goes_quiet_ends_the_clip_with_what_there_is_and_says_the_gap() -> None:
    r = ring()
    feed(r, packets(0, 3.05))
    r.open("press", 3 * NS)  # ends at 4 s, but no frame comes after 3 s
    assert r.overdue(4 * NS, grace_ns=2 * NS) == []  # not yet past its grace
    [cut] = r.overdue(6 * NS + 1, grace_ns=2 * NS)
    assert cut.packets[-1].sensor_ns == 3 * NS and round(cut.max_gap_s(), 3) == 1.0


def test_with_nothing_open_only_the_pre_roll_is_kept() -> None:
    r = ring(pre=2)
    feed(r, packets(0, 600))  # ten minutes
    assert r.held_bytes() <= (2 + 1 + 0.1) * FPS * 100  # the pre-roll and one keyframe's gap


def test_a_camera_that_gave_nothing_cuts_an_empty_clip() -> None:
    r = ring()
    r.open("press", 0)
    [cut] = r.overdue(10 * NS, grace_ns=2 * NS)
    assert list(cut.packets) == []
