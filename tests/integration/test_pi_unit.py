"""The Pi paths under the shipped unit's real restrictions (issue 22), reproduced here: its
syscall filter loaded with libseccomp from systemd's own group lists, its working directory
(read-only when it names none), /proc as ProcSubset=pid shows it. Above the simulated chip run
the real lgpio and gpiozero (tests/pi/lgpio_chip.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.ops.unit_file import UnitFile
from tests.pi import sandbox
from tests.pi.lgpio_chip import REVISION_PI4, device_tree

pytestmark = pytest.mark.skipif(
    sandbox.available() is not None, reason=f"unit sandbox: {sandbox.available()}"
)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    folder.mkdir()
    return folder


def under_unit(script: str, state_dir: Path, **options) -> str:
    done = sandbox.run_under_unit(script, state_dir, **options)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_sandbox_reproduces_what_broke_the_pi(state_dir: Path) -> None:
    # The conditions themselves, so the tests below can fail: adjtimex is refused, /proc has
    # no cpuinfo, and gpiozero's own board lookup cannot work.
    seen = json.loads(
        under_unit(
            "import ctypes, json, os\nfrom gpiozero.pins.local import get_pi_revision\n"
            "libc = ctypes.CDLL('libc.so.6', use_errno=True)\n"
            "state = libc.adjtimex(ctypes.create_string_buffer(512))\n"
            "try:\n    get_pi_revision()\n    board = 'found'\nexcept OSError as exc:\n"
            "    board = type(exc).__name__\n"
            "print(json.dumps([state, ctypes.get_errno(), os.path.exists('/proc/cpuinfo'),\n"
            "                  board]))",
            state_dir,
        )
    )
    assert seen == [-1, 1, False, "FileNotFoundError"]  # EPERM


def test_the_clock_check_answers_under_the_units_syscall_filter(
    state_dir: Path, tmp_path: Path
) -> None:
    flag = tmp_path / "timesync"
    flag.mkdir()
    check = (
        "from edge.hardware.clock import clock_sync\nresult = clock_sync()\n"
        "print(result.synced, result.how)"
    )
    unsynced = under_unit(check, state_dir)
    assert unsynced.startswith("False adjtimex refused (EPERM"), unsynced
    (flag / "synchronized").touch()  # what systemd-timesyncd leaves once it has synchronised
    synced = under_unit(
        check,
        state_dir,
        extra_mounts=f"mount --bind {flag} /run/systemd/timesync 2>/dev/null "
        f"|| (mkdir -p /run/systemd/timesync && mount --bind {flag} "
        "/run/systemd/timesync)",
    )
    assert synced.startswith("True systemd-timesyncd says so"), synced


def test_lgpio_imports_under_the_units_working_directory(state_dir: Path) -> None:
    # The real lgpio: its import made a FIFO in the working directory, which under the old unit
    # was a read-only / (FileNotFoundError: '.lgd-nfy-3'). Opening the chip then fails here only
    # because this machine has no /dev/gpiochip0.
    said = under_unit(
        "from pathlib import Path\nfrom edge.hardware.backends import HardwareError, open_gpio\n"
        f"try:\n    open_gpio(0, Path({str(state_dir / 'data')!r}))\n"
        "except HardwareError as exc:\n    print(exc)",
        state_dir,
    )
    assert "gpiochip" in said and ".lgd-nfy" not in said, said


def test_lgpio_finds_a_writable_folder_even_without_the_units_working_directory(
    state_dir: Path, tmp_path: Path
) -> None:
    unit = tmp_path / "old.service"
    unit.write_text(sandbox.UNIT.read_text().replace("WorkingDirectory=", "#WorkingDirectory="))
    assert UnitFile.read(unit).get("WorkingDirectory") is None
    said = under_unit(
        "from pathlib import Path\nfrom edge.hardware.backends import HardwareError, open_gpio\n"
        f"try:\n    open_gpio(0, Path({str(state_dir / 'data')!r}))\n"
        "except HardwareError as exc:\n    print(exc)",
        state_dir,
        unit_path=unit,
    )
    assert "gpiochip" in said and ".lgd-nfy" not in said, said


def test_the_relay_drives_through_gpiozero_and_lgpio_under_the_unit(
    state_dir: Path, tmp_path: Path
) -> None:
    # The board is looked up through sysfs's device tree, since ProcSubset=pid hides /proc's.
    tree = device_tree(tmp_path / "tree")
    report = json.loads(
        under_unit(
            "from tests.pi.lgpio_chip import install\nchip = install()\n"
            "from gpiozero import OutputDevice\n"
            "from edge.hardware.pi_gpio import DoorLGPIOFactory\n"
            "factory = DoorLGPIOFactory(0)\n"
            f"assert factory.board_info.revision == '{REVISION_PI4:x}', factory.board_info\n"
            "relay = OutputDevice(17, active_high=False, initial_value=False,\n"
            "                     pin_factory=factory)\n"
            "relay.on(); relay.off()\nimport json\nprint(json.dumps(chip.report()))",
            state_dir,
            device_tree=tree,
        )
    )
    assert report["history"]["17"] == [1, 0, 1]  # claimed locked, energised, locked again


VIDEO_UNDER_UNIT = """
import json, socket
from pathlib import Path
import av
from edge.hardware.h264 import H264Encoder, mp4
from edge.hardware.sim_camera import SimCamera
from edge.store.photos import PhotoStore
from edge.workers.live_view import LiveSettings, LiveView
from edge.hardware.video import SoftwareVideo, VideoFormat
from edge.workers.recorder import Recorder, VideoMaking

camera = SimCamera(640, 480, "unit")
encoder = H264Encoder(640, 480, 10)
packets = []
for n in range(25):
    frame = camera.capture()
    packets += encoder.encode(frame.image, frame.sequence, frame.sensor_ns)
clip = mp4(packets)
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
live = LiveView(LiveSettings("127.0.0.1", port, "doorstep", "owner", "pw"))
live.start()
recorder = Recorder(SoftwareVideo(camera, VideoFormat()), PhotoStore(Path(".")), lambda _: None,
                    VideoMaking(clips=False), live=live)
recorder.start()
url = f"rtsp://owner:pw@127.0.0.1:{port}/doorstep"
with av.open(url, "r", options={"rtsp_transport": "tcp"}, timeout=10) as stream:
    frame = next(stream.decode(video=0))
recorder.stop()
live.stop()
print(json.dumps([clip[4:8].decode(), frame.width, frame.height]))
"""


def test_the_sandbox_denies_writable_executable_memory_as_the_unit_does(state_dir: Path) -> None:
    seen = under_unit(
        "import ctypes, mmap\nlibc = ctypes.CDLL('libc.so.6', use_errno=True)\n"
        "libc.mmap.restype = ctypes.c_void_p\n"
        "libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,\n"
        "                      ctypes.c_int, ctypes.c_long]\n"
        "flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS\n"
        "wx = libc.mmap(None, 4096, mmap.PROT_WRITE | mmap.PROT_EXEC, flags, -1, 0)\n"
        "rw = libc.mmap(None, 4096, mmap.PROT_READ | mmap.PROT_WRITE, flags, -1, 0)\n"
        "print(wx == ctypes.c_void_p(-1).value, rw != ctypes.c_void_p(-1).value)",
        state_dir,
    )
    assert seen == "True True"


def test_clips_and_the_live_view_run_under_the_units_syscall_filter(state_dir: Path) -> None:
    # libx264, FFmpeg's MP4 muxer and GStreamer's RTSP server under the unit's filter and
    # MemoryDenyWriteExecute= (a JIT, like GStreamer's orc, would need writable code).
    pytest.importorskip("gi", reason="the live view needs PyGObject (make test installs it)")
    assert json.loads(under_unit(VIDEO_UNDER_UNIT, state_dir)) == ["ftyp", 640, 480]


PI_VIDEO_UNDER_UNIT = """
import io, json, queue
import av
from tests.pi.picamera2_stack import MemfdAllocator
from edge.hardware.h264 import mp4
from edge.hardware.pi_camera import CameraSetup, PiCamera
from edge.hardware.pi_video import PiVideo
from edge.hardware.video import VideoFormat

camera = PiCamera(CameraSetup((640, 480)), allocator=MemfdAllocator)
video = PiVideo(camera, VideoFormat(10, 320, 240, [[(0, 0), (0.25, 0), (0.25, 0.25), (0, 0.25)]]))
sink = queue.Queue()
video.start(sink.put)
video.want(True)
packets = [sink.get(timeout=10) for _ in range(12)]
video.stop()
camera.close()
first = next(n for n, packet in enumerate(packets) if packet.keyframe)
with av.open(io.BytesIO(mp4(packets[first:]))) as clip:
    frame = next(clip.decode(video=0))
print(json.dumps([frame.width, frame.height]))
"""


def test_the_pi_cameras_own_encoder_path_runs_under_the_units_syscall_filter(
    state_dir: Path,
) -> None:
    # picamera2's encoder thread, its Output, the masks burned in with numpy and the MP4,
    # under the unit's filter and MemoryDenyWriteExecute=.
    assert json.loads(under_unit(PI_VIDEO_UNDER_UNIT, state_dir)) == [320, 240]
