"""libcamera's C binding (``_libcamera``, pybind11: libcamera's src/py/libcamera/py_main.cpp),
simulated in Python, so that picamera2's own source runs here unchanged: its camera manager
thread on the event fd, its jobs, its requests and their recycling, its timeouts and its flush.

It reproduces the binding's surface as picamera2 0.3.38 uses it, and the behaviour of one IMX708
(Camera Module 3) behind the Raspberry Pi pipeline: the sensor modes and their crops, a
configuration that ``validate()`` adjusts, buffers in shared memory (``memfd``), requests that
complete on the sensor's clock (``SensorTimestamp`` on CLOCK_MONOTONIC, ``sequence`` from 0 at every
start), a frontend that can stop delivering (``SENSOR.hung``: a loose ribbon cable; requests stay
queued, as libcamera's "frontend has timed out") and a start that can fail. ``Camera.stop()``
returns what is queued as cancelled, as libcamera does.

Where the binding itself is unclear here, the behaviour picamera2 needs is chosen: Transform
compares by value (picamera2's orientation tables depend on it).
"""

from __future__ import annotations

import enum
import functools
import mmap
import os
import threading
import time
import types
import weakref
from collections.abc import Iterator
from typing import Any

__all__ = [
    "Camera",
    "CameraConfiguration",
    "CameraManager",
    "ColorSpace",
    "ControlId",
    "ControlInfo",
    "ControlType",
    "FrameBuffer",
    "FrameBufferAllocator",
    "FrameMetadata",
    "Orientation",
    "PixelFormat",
    "Point",
    "Rectangle",
    "Request",
    "SensorConfiguration",
    "Size",
    "Stream",
    "StreamConfiguration",
    "StreamFormats",
    "StreamRole",
    "Transform",
    "controls",
    "log_set_level",
    "properties",
]


class Sensor:
    """What the test steers: the one sensor on the bus."""

    def __init__(self) -> None:
        self.hung = False  # frames stop: queued requests never complete
        self.fail_start = False  # Camera.start() fails, as on a frontend that never wakes
        self.frames = threading.Condition()
        self.delivered = 0  # frames completed since the process began (all starts)
        self.started_with: dict[str, Any] = {}  # the controls of the last Camera.start()
        self.configured_mode: tuple[int, int] | None = None  # the sensor mode last configured

    def reset(self) -> None:
        self.hung = self.fail_start = False
        self.started_with = {}

    @staticmethod
    def acquired() -> bool:
        return bool(_ACQUIRED)


SENSOR = Sensor()
_ACQUIRED: set[str] = set()  # the media device's lock: one owner at a time, process wide


def log_set_level(category: str, level: str) -> None:
    pass


class StreamRole(enum.Enum):
    StillCapture = 0
    Raw = 1
    VideoRecording = 2
    Viewfinder = 3


class ControlType(enum.Enum):
    Null = 0
    Bool = 1
    Byte = 2
    Integer32 = 3
    Integer64 = 4
    Float = 5
    String = 6
    Rectangle = 7
    Size = 8
    Point = 9


class Orientation(enum.Enum):
    Rotate0 = 1
    Rotate0Mirror = 2
    Rotate180 = 3
    Rotate180Mirror = 4
    Rotate90Mirror = 5
    Rotate270 = 6
    Rotate270Mirror = 7
    Rotate90 = 8


class Point:
    def __init__(self, x: int = 0, y: int = 0) -> None:
        self.x, self.y = x, y


class Size:
    def __init__(self, width: int = 0, height: int = 0) -> None:
        self.width, self.height = int(width), int(height)

    def to_tuple(self) -> tuple[int, int]:
        return (self.width, self.height)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Size) and self.to_tuple() == other.to_tuple()

    __hash__ = None  # type: ignore[assignment]  # pybind11: == without a hash

    def __repr__(self) -> str:
        return f"libcamera.Size({self.width}, {self.height})"


class Rectangle:
    def __init__(self, x: int = 0, y: int = 0, width: int = 0, height: int = 0) -> None:
        self.x, self.y, self.width, self.height = int(x), int(y), int(width), int(height)

    def to_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.width, self.height)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rectangle) and self.to_tuple() == other.to_tuple()

    __hash__ = None  # type: ignore[assignment]


class Transform:
    hflip: bool
    vflip: bool
    transpose: bool

    def __init__(
        self,
        rotation: int | Transform = 0,
        hflip: Any = False,
        vflip: Any = False,
        transpose: Any = False,
    ) -> None:
        if isinstance(rotation, Transform):  # the binding's copy constructor
            other = rotation
            self.hflip, self.vflip, self.transpose = other.hflip, other.vflip, other.transpose
            return
        if rotation not in (0, 180):  # 90 and 270 need a transpose, which the IMX708 lacks
            raise ValueError("Invalid rotation")
        self.hflip, self.vflip, self.transpose = bool(hflip), bool(vflip), bool(transpose)
        if rotation == 180:
            self.hflip, self.vflip = not self.hflip, not self.vflip

    def _bits(self) -> tuple[bool, bool, bool]:
        return (self.hflip, self.vflip, self.transpose)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Transform) and self._bits() == other._bits()

    def __hash__(self) -> int:
        return hash(self._bits())

    def __str__(self) -> str:
        flags = zip(("hflip", "vflip", "transpose"), self._bits(), strict=True)
        names = [name for name, on in flags if on]
        return f"<libcamera.Transform '{'|'.join(names) or 'identity'}'>"


class ColorSpace:
    class Primaries(enum.Enum):
        Raw = 0
        Smpte170m = 1
        Rec709 = 2
        Rec2020 = 3

    class TransferFunction(enum.Enum):
        Linear = 0
        Srgb = 1
        Rec709 = 2

    class YcbcrEncoding(enum.Enum):
        Null = 0
        Rec601 = 1
        Rec709 = 2
        Rec2020 = 3

    class Range(enum.Enum):
        Full = 0
        Limited = 1

    primaries: Any
    transferFunction: Any
    ycbcrEncoding: Any
    range: Any

    def __init__(
        self,
        primaries: Any,
        transferFunction: Any = None,
        ycbcrEncoding: Any = None,
        range: Any = None,
    ) -> None:
        if isinstance(primaries, ColorSpace):
            other = primaries
            primaries, transferFunction = other.primaries, other.transferFunction
            ycbcrEncoding, range = other.ycbcrEncoding, other.range
        self.primaries, self.transferFunction = primaries, transferFunction
        self.ycbcrEncoding, self.range = ycbcrEncoding, range

    def __str__(self) -> str:
        parts = (self.primaries, self.transferFunction, self.ycbcrEncoding, self.range)
        return "/".join(part.name if part else "None" for part in parts)

    @staticmethod
    def Raw() -> ColorSpace:
        c = ColorSpace
        return c(c.Primaries.Raw, c.TransferFunction.Linear, c.YcbcrEncoding.Null, c.Range.Full)

    @staticmethod
    def Srgb() -> ColorSpace:
        c = ColorSpace
        return c(c.Primaries.Rec709, c.TransferFunction.Srgb, c.YcbcrEncoding.Null, c.Range.Full)

    @staticmethod
    def Sycc() -> ColorSpace:
        c = ColorSpace
        return c(c.Primaries.Rec709, c.TransferFunction.Srgb, c.YcbcrEncoding.Rec601, c.Range.Full)

    @staticmethod
    def Smpte170m() -> ColorSpace:
        c = ColorSpace
        return c(
            c.Primaries.Smpte170m,
            c.TransferFunction.Rec709,
            c.YcbcrEncoding.Rec601,
            c.Range.Limited,
        )

    @staticmethod
    def Rec709() -> ColorSpace:
        c = ColorSpace
        return c(
            c.Primaries.Rec709, c.TransferFunction.Rec709, c.YcbcrEncoding.Rec709, c.Range.Limited
        )


class PixelFormat:
    def __init__(self, name: str = "") -> None:
        self._name = str(name)

    def __str__(self) -> str:
        return self._name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PixelFormat) and self._name == other._name

    __hash__ = None  # type: ignore[assignment]


class ControlId:
    def __init__(self, num: int, name: str, kind: ControlType, vendor: str = "libcamera") -> None:
        self.id, self.name, self.type, self.vendor = num, name, kind, vendor
        self.isArray, self.size = False, 0

    def __repr__(self) -> str:
        return f"libcamera.ControlId({self.id}, {self.vendor}::{self.name})"


class ControlInfo:
    def __init__(self, low: Any, high: Any, default: Any = None) -> None:
        self.min, self.max, self.default = low, high, default
        self.values: list[Any] = []


def _enum(name: str, **values: int) -> Any:
    return enum.IntEnum(name, values)


_T = ControlType
controls = types.SimpleNamespace(
    AeEnable=ControlId(1, "AeEnable", _T.Bool),
    ExposureTime=ControlId(6, "ExposureTime", _T.Integer32),
    AnalogueGain=ControlId(7, "AnalogueGain", _T.Float),
    ExposureTimeMode=ControlId(30, "ExposureTimeMode", _T.Integer32),
    AnalogueGainMode=ControlId(31, "AnalogueGainMode", _T.Integer32),
    SensorTimestamp=ControlId(21, "SensorTimestamp", _T.Integer64),
    FrameDuration=ControlId(24, "FrameDuration", _T.Integer64),
    FrameDurationLimits=ControlId(25, "FrameDurationLimits", _T.Integer64),
    ScalerCrop=ControlId(22, "ScalerCrop", _T.Rectangle),
    draft=types.SimpleNamespace(
        NoiseReductionMode=ControlId(10002, "NoiseReductionMode", _T.Integer32, "draft"),
        NoiseReductionModeEnum=_enum(
            "NoiseReductionModeEnum", Off=0, Fast=1, HighQuality=2, Minimal=3, ZSL=4
        ),
    ),
)
properties = types.SimpleNamespace(
    Location=ControlId(1, "Location", _T.Integer32),
    Rotation=ControlId(2, "Rotation", _T.Integer32),
    Model=ControlId(3, "Model", _T.String),
    PixelArraySize=ControlId(5, "PixelArraySize", _T.Size),
    ColorFilterArrangement=ControlId(10001, "ColorFilterArrangement", _T.Integer32, "draft"),
    draft=types.SimpleNamespace(
        ColorFilterArrangementEnum=_enum(
            "ColorFilterArrangementEnum", RGGB=0, GRBG=1, GBRG=2, BGGR=3, RGB=4, MONO=5
        ),
    ),
)

# The IMX708's modes as the Pi's pipeline lists them: (size, crop on the pixel array, fastest µs).
PIXEL_ARRAY = (4608, 2592)
RAW_FORMAT = "SRGGB10_CSI2P"
MODES = (
    ((1536, 864), (768, 432, 3072, 1728), 8_333),
    ((2304, 1296), (0, 0, 4608, 2592), 17_849),
    ((4608, 2592), (0, 0, 4608, 2592), 87_719),
)
PROCESSED = ("BGR888", "RGB888", "XBGR8888", "XRGB8888", "YUV420")
BYTES_PER_PIXEL = {"BGR888": 3, "RGB888": 3, "XBGR8888": 4, "XRGB8888": 4}


def _align(value: int, to: int) -> int:
    return (value + to - 1) // to * to


class StreamFormats:
    def __init__(self, table: dict[str, list[tuple[int, int]]]) -> None:
        self._table = table

    @property
    def pixel_formats(self) -> list[PixelFormat]:
        return [PixelFormat(name) for name in self._table]

    def sizes(self, pixel_format: PixelFormat) -> list[Size]:
        return [Size(*size) for size in self._table.get(str(pixel_format), [])]

    def range(self, pixel_format: PixelFormat) -> Any:
        sizes = self.sizes(pixel_format)
        return (sizes[0], sizes[-1]) if sizes else None


class Stream:
    def __init__(self, configuration: StreamConfiguration) -> None:
        self.configuration = configuration


class StreamConfiguration:
    def __init__(self, role: StreamRole) -> None:
        raw = role is StreamRole.Raw
        self._raw_role = raw
        self.pixel_format = PixelFormat(RAW_FORMAT if raw else "YUV420")
        self.size = Size(*MODES[1][0]) if raw else Size(1920, 1080)
        self.stride, self.frame_size, self.buffer_count = 0, 0, 4
        self.color_space: ColorSpace | None = ColorSpace.Raw() if raw else ColorSpace.Sycc()
        table = (
            {RAW_FORMAT: [size for size, _, _ in MODES]}
            if raw
            else {name: [(64, 64), PIXEL_ARRAY] for name in PROCESSED}
        )
        self.formats = StreamFormats(table)
        self._stream: Stream | None = None

    @property
    def stream(self) -> Stream | None:
        return self._stream  # None until Camera.configure() assigns the streams

    def is_raw(self) -> bool:
        return str(self.pixel_format) == RAW_FORMAT


class SensorConfiguration:
    def __init__(self) -> None:
        self.bit_depth = 0
        self.output_size = Size()
        self.analog_crop = Rectangle()


class CameraConfiguration:
    class Status(enum.Enum):
        Valid = 0
        Adjusted = 1
        Invalid = 2

    def __init__(self, roles: list[StreamRole]) -> None:
        self._streams = [StreamConfiguration(role) for role in roles]
        self.sensor_config: SensorConfiguration | None = None
        self.orientation = Orientation.Rotate0
        self.mode = MODES[1]

    def __iter__(self) -> Iterator[StreamConfiguration]:
        return iter(self._streams)

    def __len__(self) -> int:
        return len(self._streams)

    def at(self, index: int) -> StreamConfiguration:
        return self._streams[index]

    @property
    def size(self) -> int:
        return len(self._streams)

    @property
    def empty(self) -> bool:
        return not self._streams

    def validate(self) -> CameraConfiguration.Status:
        """As the Pi pipeline: the sensor mode comes from the sensor configuration when given
        (Invalid when it names no mode), else from the raw stream, else the default; streams are
        clamped and get their stride and frame size."""
        status = CameraConfiguration.Status.Valid
        wanted = self.sensor_config.output_size.to_tuple() if self.sensor_config else None
        raw = next((s for s in self._streams if s.is_raw()), None)
        if wanted is not None:
            found = [mode for mode in MODES if mode[0] == wanted]
            if not found:
                return CameraConfiguration.Status.Invalid
            self.mode = found[0]
        elif raw is not None:
            self.mode = min(
                MODES, key=lambda m: abs(m[0][0] - raw.size.width) + abs(m[0][1] - raw.size.height)
            )
        for stream in self._streams:
            before = (stream.size.to_tuple(), stream.buffer_count)
            if stream.is_raw():
                stream.size = Size(*self.mode[0])
                stream.stride = _align(stream.size.width * 10 // 8, 32)
                stream.frame_size = stream.stride * stream.size.height
            else:
                name = str(stream.pixel_format)
                if name not in PROCESSED:
                    stream.pixel_format = PixelFormat("YUV420")
                    status = CameraConfiguration.Status.Adjusted
                width = min(max(stream.size.width, 64), PIXEL_ARRAY[0]) // 2 * 2
                height = min(max(stream.size.height, 64), PIXEL_ARRAY[1]) // 2 * 2
                stream.size = Size(width, height)
                per_pixel = BYTES_PER_PIXEL.get(str(stream.pixel_format), 1)
                stream.stride = _align(width * per_pixel, 32)
                rows = height * 3 // 2 if per_pixel == 1 else height
                stream.frame_size = stream.stride * rows
            stream.buffer_count = max(1, stream.buffer_count)
            if (stream.size.to_tuple(), stream.buffer_count) != before:
                status = CameraConfiguration.Status.Adjusted
        return status


@functools.cache
def _grey(length: int) -> bytes:
    return b"\x80" * length


class FrameMetadata:
    class Status(enum.Enum):
        Success = 0
        Error = 1
        Cancelled = 2

    class Plane:
        def __init__(self, bytes_used: int = 0) -> None:
            self.bytes_used = bytes_used

    def __init__(self, length: int) -> None:
        self.status = FrameMetadata.Status.Success
        self.sequence = 0
        self.timestamp = 0
        self.planes = [FrameMetadata.Plane(length)]


class FrameBuffer:
    class Plane:
        def __init__(self, fd: int = -1, offset: int = 0, length: int = 0) -> None:
            self.fd, self.offset, self.length = fd, offset, length

    def __init__(self, planes: list[FrameBuffer.Plane], cookie: int = 0) -> None:
        self.planes = list(planes)
        self.cookie = cookie
        self.metadata = FrameMetadata(sum(p.length for p in self.planes))


class FrameBufferAllocator:
    def __init__(self, camera: Camera) -> None:
        self._camera = camera
        self._buffers: dict[Stream, list[FrameBuffer]] = {}

    def allocate(self, stream: Stream) -> int:
        config = stream.configuration
        buffers = []
        for index in range(config.buffer_count):
            fd = os.memfd_create(f"libcamera-{index}", os.MFD_CLOEXEC)
            os.ftruncate(fd, config.frame_size)
            buffers.append(FrameBuffer([FrameBuffer.Plane(fd, 0, config.frame_size)]))
        self._buffers[stream] = buffers
        return len(buffers)

    @property
    def allocated(self) -> bool:
        return bool(self._buffers)

    def buffers(self, stream: Stream) -> list[FrameBuffer]:
        return self._buffers.get(stream, [])

    def __del__(self) -> None:
        for buffers in self._buffers.values():
            for buffer in buffers:
                os.close(buffer.planes[0].fd)


class Request:
    class Status(enum.Enum):
        Pending = 0
        Complete = 1
        Cancelled = 2

    class ReuseFlag(enum.Enum):
        Default = 0
        ReuseBuffers = 1

    def __init__(self, camera: Camera, cookie: int) -> None:
        self._camera = camera
        self.cookie = cookie
        self.status = Request.Status.Pending
        self.buffers: dict[Stream, FrameBuffer] = {}
        self.sequence = 0
        self.metadata: dict[ControlId, Any] = {}
        self.controls: dict[ControlId, Any] = {}

    @property
    def has_pending_buffers(self) -> bool:
        return self.status is Request.Status.Pending

    def add_buffer(self, stream: Stream, buffer: FrameBuffer) -> None:
        if stream in self.buffers:
            raise RuntimeError("Failed to add buffer: Device or resource busy")
        self.buffers[stream] = buffer

    def set_control(self, control: ControlId, value: Any) -> None:
        self.controls[control] = value

    def reuse(self) -> None:
        self.status = Request.Status.Pending
        self.metadata, self.controls, self.sequence = {}, {}, 0


class Camera:
    """One camera of one CameraManager. A thread plays the sensor while it runs."""

    def __init__(self, manager: CameraManager) -> None:
        self._manager = weakref.ref(manager)
        self.id = "/base/soc/i2c0mux/i2c@1/imx708@1a"
        self._config: CameraConfiguration | None = None
        self._queue: list[Request] = []
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._thread: threading.Thread | None = None
        self._frame_us = 33_333

    def __str__(self) -> str:
        return f"<libcamera.Camera '{self.id}'>"

    def acquire(self) -> None:
        if self.id in _ACQUIRED:
            raise RuntimeError("Failed to acquire camera: Device or resource busy")
        _ACQUIRED.add(self.id)

    def release(self) -> None:
        if self._running.is_set():
            raise RuntimeError("Failed to release camera: Permission denied")
        _ACQUIRED.discard(self.id)

    @property
    def properties(self) -> dict[ControlId, Any]:
        return {
            properties.Model: "imx708",
            properties.Location: 2,
            properties.Rotation: 180,
            properties.PixelArraySize: Size(*PIXEL_ARRAY),
            properties.ColorFilterArrangement: 0,
        }

    @property
    def controls(self) -> dict[ControlId, ControlInfo]:
        (width, height), crop, fastest = self._config.mode if self._config else MODES[1]
        return {
            controls.AeEnable: ControlInfo(False, True, True),
            controls.ExposureTime: ControlInfo(26, 112_015_443, 20_000),
            controls.ExposureTimeMode: ControlInfo(0, 1, 0),
            controls.AnalogueGain: ControlInfo(1.0, 16.0, 1.0),
            controls.AnalogueGainMode: ControlInfo(0, 1, 0),
            controls.FrameDurationLimits: ControlInfo(fastest, 1_000_000_000, 33_333),
            controls.ScalerCrop: ControlInfo(
                Rectangle(0, 0, 64, 64), Rectangle(*crop), Rectangle(*crop)
            ),
            controls.draft.NoiseReductionMode: ControlInfo(0, 4, 0),
        }

    @property
    def streams(self) -> set[Stream]:
        return {s.stream for s in self._config} if self._config else set()  # type: ignore[misc]

    def generate_configuration(self, roles: list[StreamRole]) -> CameraConfiguration:
        return CameraConfiguration(list(roles))

    def configure(self, config: CameraConfiguration) -> None:
        if self.id not in _ACQUIRED or self._running.is_set():
            raise RuntimeError("Failed to configure camera: Permission denied")
        if config.validate() is CameraConfiguration.Status.Invalid:
            raise RuntimeError("Failed to configure camera: Invalid argument")
        for stream in config:
            stream._stream = Stream(stream)
        self._config = config
        SENSOR.configured_mode = config.mode[0]

    def create_request(self, cookie: int = 0) -> Request:
        if self._config is None:
            raise RuntimeError("Failed to create request: Cannot allocate memory")
        return Request(self, cookie)

    def queue_request(self, request: Request) -> None:
        if not self._running.is_set():
            raise RuntimeError("Failed to queue request: Permission denied")
        with self._lock:
            self._queue.append(request)

    def start(self, controls: dict[ControlId, Any] | None = None) -> None:
        if self._config is None or self._running.is_set():
            raise RuntimeError("Failed to start camera: Permission denied")
        if SENSOR.fail_start:
            raise RuntimeError("Failed to start camera: Connection timed out")
        SENSOR.started_with = {control.name: value for control, value in (controls or {}).items()}
        limits = SENSOR.started_with.get("FrameDurationLimits")
        self._frame_us = max(int(limits[0]) if limits else 33_333, self._config.mode[2])
        self._running.set()
        self._thread = threading.Thread(target=self._sensor, name="libcamera-sensor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if not self._running.is_set():
            return
        self._running.clear()
        assert self._thread is not None
        self._thread.join()
        with self._lock:
            cancelled, self._queue = self._queue, []
        for request in cancelled:
            request.status = Request.Status.Cancelled
            for buffer in request.buffers.values():
                buffer.metadata.status = FrameMetadata.Status.Cancelled
            self._complete(request)

    def _sensor(self) -> None:
        sequence = 0
        next_frame = time.monotonic()
        while self._running.is_set():
            next_frame += self._frame_us / 1e6
            delay = next_frame - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # the sensor's frame clock, not a synchronisation
            if SENSOR.hung:
                continue
            exposure_start_ns = time.monotonic_ns() - self._frame_us * 1000
            with self._lock:
                request = self._queue.pop(0) if self._queue else None
            if request is not None:  # no request queued: the frame is dropped, as on the Pi
                self._fill(request, sequence, exposure_start_ns)
                self._complete(request)
            sequence += 1

    def _fill(self, request: Request, sequence: int, exposure_start_ns: int) -> None:
        exposure_us = 20_000
        for stream, buffer in request.buffers.items():
            plane = buffer.planes[0]
            with mmap.mmap(plane.fd, plane.length) as memory:
                memory[:] = _grey(plane.length)  # the scene: mid-grey in every format
                memory[: stream.configuration.stride] = bytes([sequence % 256]) * (
                    stream.configuration.stride
                )  # the first row says which frame this is
            buffer.metadata.status = FrameMetadata.Status.Success
            buffer.metadata.sequence = sequence
            buffer.metadata.timestamp = exposure_start_ns
        request.sequence = sequence
        request.status = Request.Status.Complete
        request.metadata = {
            controls.SensorTimestamp: exposure_start_ns + exposure_us * 1000,
            controls.ExposureTime: exposure_us,
            controls.AnalogueGain: 1.0,
            controls.FrameDuration: self._frame_us,
            controls.ScalerCrop: Rectangle(*self._config.mode[1]) if self._config else Rectangle(),
        }
        with SENSOR.frames:
            SENSOR.delivered += 1
            SENSOR.frames.notify_all()

    def _complete(self, request: Request) -> None:
        manager = self._manager()
        if manager is not None:
            manager._push(request)


class CameraManager:
    """As PyCameraManager: completed requests wait in a list, announced on an eventfd."""

    _instance: weakref.ref[CameraManager] | None = None
    version = "v0.5.0+sim"

    def __init__(self) -> None:
        self.event_fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self._completed: list[Request] = []
        self._lock = threading.Lock()
        self._cameras = [Camera(self)]

    @staticmethod
    def singleton() -> CameraManager:
        manager = CameraManager._instance() if CameraManager._instance else None
        if manager is None:
            manager = CameraManager()
            CameraManager._instance = weakref.ref(manager)
        return manager

    @property
    def cameras(self) -> list[Camera]:
        return list(self._cameras)

    def get(self, camera_id: str) -> Camera:
        for camera in self._cameras:
            if camera.id == camera_id:
                return camera
        raise RuntimeError(f"no camera {camera_id}")

    def get_ready_requests(self) -> list[Request]:
        try:
            os.eventfd_read(self.event_fd)
        except BlockingIOError:
            return []
        with self._lock:
            ready, self._completed = self._completed, []
        return ready

    def _push(self, request: Request) -> None:
        with self._lock:
            self._completed.append(request)
        os.eventfd_write(self.event_fd, 1)

    def __del__(self) -> None:
        os.close(self.event_fd)
