"""The config file (docs/protocol.md §7): pydantic models loaded from TOML.

Unknown keys are errors, durations take integers or fractions but never strings or booleans,
and relative paths resolve against the config file's folder. ``load_config`` turns any problem
into one ConfigError that names the file, the key and the problem.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import ErrorDetails

from edge.crypto.owner_code import parse_hash
from edge.crypto.verify import KeyFileError, load_public_key
from edge.domain.passes import Mode, Signer
from edge.domain.policy import InHomeHours, Policy, Window

DEFAULT_CONFIG_PATH = Path("/etc/doorstep/doorstep.toml")
ID_REGEX = r"^[A-Za-z0-9_-]{1,64}$"


class ConfigError(Exception):
    """A config doorstep cannot use; the message names file, key and problem."""


def _resolve(path: Path, info: ValidationInfo) -> Path:
    """Expand $VARS (systemd's $CREDENTIALS_DIRECTORY), then anchor at the config's folder."""
    path = Path(os.path.expandvars(path))
    base = (info.context or {}).get("base_dir")
    return path if path.is_absolute() or base is None else (base / path)


ConfigPath = Annotated[Path, AfterValidator(_resolve)]
Seconds = Annotated[float, Field(strict=True, ge=0)]
Positive = Annotated[float, Field(strict=True, gt=0)]
PositiveSeconds = Positive
Flag = Annotated[bool, Field(strict=True)]
Fraction = Annotated[float, Field(strict=False, ge=0, le=1)]
Pin = Annotated[int, Field(strict=True, ge=0, le=27, description="BCM GPIO number")]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttTls(Section):
    ca_file: ConfigPath = Field(description="CA the broker's certificate must chain to")
    cert_file: ConfigPath | None = Field(None, description="client certificate, for mutual TLS")
    key_file: ConfigPath | None = Field(None, description="client private key, for mutual TLS")

    @model_validator(mode="after")
    def _pair(self) -> MqttTls:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


class MqttConfig(Section):
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(1883, strict=True, ge=1, le=65535)
    topic_prefix: str = Field("doorstep", pattern=r"^[^#+/\x00][^#+\x00]*$")
    protocol: Literal["5", "3.1.1"] = "5"
    username: str | None = None
    password_file: ConfigPath | None = None
    keepalive_s: int = Field(30, strict=True, ge=5, le=3600)
    session_expiry_s: int = Field(
        3600,
        strict=True,
        ge=0,
        le=4294967295,
        description="keep the session (and queued commands) this long while offline; 0 = clean",
    )
    max_payload_bytes: int = Field(
        268435455,
        strict=True,
        ge=16384,
        le=268435455,
        description="largest message the broker takes (AWS IoT: 131072); photos are fitted",
    )
    tls: MqttTls | None = None


class PhotosConfig(Section):
    transport: Literal["mqtt", "http"] = "mqtt"
    http_url: str | None = Field(
        None,
        description="PUT target with {device_id}, {delivery_id}, "
        "{photo_id}; https, or http to this machine only",
    )
    http_token_file: ConfigPath | None = None
    http_ca_file: ConfigPath | None = None
    confirmation_count: int = Field(
        1, strict=True, ge=1, le=5, description="photos taken when a delivery is confirmed"
    )

    @model_validator(mode="after")
    def _upload_target(self) -> PhotosConfig:
        if self.transport != "http":
            return self
        if not self.http_url:
            raise ValueError('transport = "http" needs http_url')
        try:
            url = self.http_url.format(device_id="d", delivery_id="D", photo_id="p")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"http_url has an unknown placeholder: {exc}") from None
        if "{photo_id}" not in self.http_url:
            raise ValueError("http_url must contain {photo_id}")
        parsed = urlsplit(url)
        loopback = parsed.hostname in ("localhost", "127.0.0.1", "::1")
        if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback):
            raise ValueError("http_url must be https:// (plain http only to this machine)")
        return self


class TrustedKey(Section):
    """A trusted key, with a name for the logs and the modes it may grant: a doorstep-only
    carrier's key can never open the door. A plain path is a key of both modes, named after
    its file."""

    file: ConfigPath
    name: str | None = Field(None, min_length=1, max_length=64)
    modes: list[Literal["doorstep", "in_home"]] = Field(["doorstep", "in_home"], min_length=1)


def _plain_key(value: Any) -> Any:
    return {"file": value} if isinstance(value, str) else value


class SecurityConfig(Section):
    trusted_keys: list[Annotated[TrustedKey, BeforeValidator(_plain_key)]] = Field(
        min_length=1, description="Ed25519 public keys (PEM): paths, or {file, name, modes}"
    )
    clock_skew_s: Seconds = 30
    max_command_lifetime_s: PositiveSeconds = 120
    max_grant_lifetime_s: PositiveSeconds = 86400

    def signers(self) -> list[tuple[Path, Signer]]:
        """Each key file with its name and the modes it may grant."""
        return [
            (key.file, Signer(key.name or key.file.stem, frozenset(Mode(m) for m in key.modes)))
            for key in self.trusted_keys
        ]


class DeliveryConfig(Section):
    in_home_enabled: Flag = False
    unlock_timeout_s: PositiveSeconds = 30
    door_open_alarm_s: PositiveSeconds = 120
    relock_delay_s: Seconds = 2
    lock_verify_s: PositiveSeconds = 3
    photo_interval_s: PositiveSeconds = Field(5, description="photos while the door is open")
    drop_zone: tuple[Fraction, Fraction, Fraction, Fraction] | None = Field(
        None,
        description="[x0, y0, x1, y1] in fractions of the frame: where parcels are left; "
        "the confirmation photo is compared with a frame taken at `arriving`",
    )

    @model_validator(mode="after")
    def _zone(self) -> DeliveryConfig:
        zone = self.drop_zone
        if zone is not None and not (zone[0] < zone[2] and zone[1] < zone[3]):
            raise ValueError("drop_zone is [x0, y0, x1, y1] with x0 < x1 and y0 < y1")
        return self


class PinMap(Section):
    """BCM pin numbers of the 40-pin header (firmware_config/pins-pi4.toml, pins-pi5.toml)."""

    lock_relay: Pin = 17
    lock_relay_active_high: Flag = True
    lock_sensor: Pin | None = Field(
        None, description="reads locked/unlocked; none = trust the relay"
    )
    lock_sensor_active_when_locked: Flag = True
    door_contact: Pin = 22
    door_contact_active_when_closed: Flag = True
    doorbell: Pin = 23
    indicator_led: Pin | None = Field(
        None, description="an LED the courier sees: on while unlocked, fast blink on a lock fault"
    )
    buzzer: Pin | None = Field(
        None,
        description="an active buzzer: beeps at an unlock, a relock, a refused at_door "
        "and while a delivery's door is left open",
    )

    @property
    def used(self) -> list[int]:
        return [
            p
            for p in (
                self.lock_relay,
                self.lock_sensor,
                self.door_contact,
                self.doorbell,
                self.indicator_led,
                self.buzzer,
            )
            if p is not None
        ]

    @model_validator(mode="after")
    def _distinct(self) -> PinMap:
        used = self.used
        if len(used) != len(set(used)):
            raise ValueError(f"a GPIO pin is used twice: {sorted(used)}")
        return self


class CameraConfig(Section):
    width: int = Field(1280, strict=True, ge=160, le=4608)
    height: int = Field(720, strict=True, ge=120, le=3456)
    jpeg_quality: int = Field(85, strict=True, ge=10, le=100)
    rotation: Literal[0, 180] = Field(0, description="180 for a camera mounted upside down")
    hflip: Flag = False
    vflip: Flag = False
    sensor_width: int | None = Field(
        None,
        strict=True,
        ge=160,
        le=9152,
        description="the sensor mode's width; none = the smallest mode that sees the whole "
        "field of view (libcamera alone may pick a cropped one for small photos)",
    )
    sensor_height: int | None = Field(None, strict=True, ge=120, le=6944)
    max_frame_interval_s: Seconds = Field(
        0.1,
        ge=0.02,
        le=1.0,
        description="frames come at least this often (FrameDurationLimits): a proof's fresh "
        "frame never waits on a long exposure",
    )
    capture_timeout_s: Seconds = Field(
        2.0,
        ge=0.2,
        le=30.0,
        description="a frame that does not come within this is a camera fault, and the camera "
        "is opened afresh (a loose cable, a frontend timeout)",
    )

    @model_validator(mode="after")
    def _sensor_size_whole(self) -> CameraConfig:
        if (self.sensor_width is None) != (self.sensor_height is None):
            raise ValueError("sensor_width and sensor_height go together (or neither)")
        return self

    @property
    def flips(self) -> tuple[bool, bool]:
        """(horizontal, vertical): a 180 degree rotation is both flips."""
        turned = self.rotation == 180
        return self.hflip != turned, self.vflip != turned


class HardwareConfig(Section):
    backend: Literal["pi", "sim"] = "pi"
    gpio_chip: int | None = Field(
        None, strict=True, ge=0, le=15, description="gpiochip number; none = gpiozero's own choice"
    )
    pins: PinMap = PinMap()
    camera: CameraConfig = CameraConfig()


class StorageConfig(Section):
    data_dir: ConfigPath = Path("/var/lib/doorstep")
    photos_quota_mb: Positive = Field(1024, description="local photos, megabytes")
    outbox_quota_mb: Positive = Field(256, description="queued events, megabytes")
    photo_retention_days: Positive = Field(
        30, description="local copies of photos the cloud has, and snapshots, are kept this long"
    )


def _polygon(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) < 3:
        raise ValueError("a mask is a polygon of at least 3 points")
    return points


Polygon = Annotated[list[tuple[Fraction, Fraction]], AfterValidator(_polygon)]


class PrivacyConfig(Section):
    masks: list[Polygon] = Field(
        [],
        description="polygons of [x, y] in fractions of the frame, filled black on every "
        "photo before it is hashed, stored or sent",
    )
    confidential_retention_days: Positive = Field(
        7, description="confidential deliveries' photos (kept on the device only) live this long"
    )


class VideoConfig(Section):
    clips: Flag = Field(
        True, description="film who is let in (unlock to relock) and who rings, as MP4 clips"
    )
    pre_s: Seconds = Field(5, le=30, description="a clip starts this long before its trigger")
    post_s: Seconds = Field(5, le=30, description="and ends this long after the relock or press")
    max_s: Positive = Field(120, le=600, description="a longer clip is cut here (truncated)")
    fps: Positive = Field(10, le=30, description="frames a second in a clip")
    width: int = Field(640, strict=True, ge=160, le=1920, description="a clip's picture size")
    height: int = Field(480, strict=True, ge=120, le=1080)

    @model_validator(mode="after")
    def _even(self) -> VideoConfig:
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even numbers (H.264's 4:2:0 needs it)")
        return self


class LiveConfig(Section):
    """The live view: an RTSP stream for Home Assistant (go2rtc, or its generic camera)."""

    enabled: Flag = False
    bind: str = Field("0.0.0.0", min_length=1, description="the address it listens on")
    port: int = Field(8554, strict=True, ge=1, le=65535)
    path: str = Field(
        "doorstep", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="rtsp://host:port/path"
    )
    username: str | None = Field(None, min_length=1, pattern=r"^[^:\s]+$")
    password_file: ConfigPath | None = Field(None, description="the viewer's password, one line")

    @model_validator(mode="after")
    def _login(self) -> LiveConfig:
        if self.enabled and (self.username is None or self.password_file is None):
            raise ValueError(
                "a live view always asks for a login: set username and password_file "
                "(there is no default)"
            )
        return self


class HomeAssistantConfig(Section):
    enabled: Flag = False
    discovery_prefix: str = Field("homeassistant", pattern=r"^[^#+/\x00][^#+\x00]*$")
    status_topic: str = Field("homeassistant/status", pattern=r"^[^#+\x00]+$")
    name: str | None = Field(
        None, min_length=1, description="the device in Home Assistant [device_id]"
    )


def _code_hash(text: str) -> str:
    parse_hash(text)  # raises ValueError saying what is wrong
    return text


class OwnerConfig(Section):
    unlock_code_hash: Annotated[str, AfterValidator(_code_hash)] | None = Field(
        None, description="made by `doorstep owner-code`; unset = owner unlock is off"
    )


def _window(text: str) -> str:
    Window.parse(text)  # raises ValueError saying what is wrong
    return text


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name, like Europe/London)") from None
    return name


WindowText = Annotated[str, AfterValidator(_window)]


class InHomeHoursConfig(Section):
    """Per weekday, "HH:MM-HH:MM" windows of local time; a day not given has none."""

    mon: list[WindowText] = []
    tue: list[WindowText] = []
    wed: list[WindowText] = []
    thu: list[WindowText] = []
    fri: list[WindowText] = []
    sat: list[WindowText] = []
    sun: list[WindowText] = []


class PolicyConfig(Section):
    timezone: Annotated[str, AfterValidator(_zone)] | None = Field(
        None, description="IANA time zone of in_home_hours, e.g. Europe/London"
    )
    in_home_hours: InHomeHoursConfig | None = Field(
        None, description="when an in-home at_door may open the door; unset = any time"
    )
    couriers: list[str] | None = Field(
        None, description="courier ids allowed in-home deliveries; unset = any courier"
    )

    @model_validator(mode="after")
    def _zone_for_hours(self) -> PolicyConfig:
        if self.in_home_hours is not None and self.timezone is None:
            raise ValueError("in_home_hours needs timezone (an IANA name, like Europe/London)")
        return self

    def policy(self) -> Policy:
        hours = None
        if self.in_home_hours is not None and self.timezone is not None:
            hours = InHomeHours.parse(ZoneInfo(self.timezone), self.in_home_hours.model_dump())
        return Policy(hours, None if self.couriers is None else frozenset(self.couriers))


class Config(Section):
    device_id: str = Field(pattern=ID_REGEX)
    mqtt: MqttConfig = MqttConfig()
    photos: PhotosConfig = PhotosConfig()
    security: SecurityConfig
    delivery: DeliveryConfig = DeliveryConfig()
    hardware: HardwareConfig = HardwareConfig()
    storage: StorageConfig = StorageConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    video: VideoConfig = VideoConfig()
    live: LiveConfig = LiveConfig()
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()
    owner: OwnerConfig = OwnerConfig()
    policy: PolicyConfig = PolicyConfig()


def _key_name(loc: tuple[Any, ...]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(top level)"


def _problem(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    return str(error["msg"])


def _read_secret(path: Path, file: Path, key: str) -> None:
    try:
        if not path.read_text(encoding="utf-8").strip():
            raise ConfigError(f"{file}: {key}: {path} is empty")
    except OSError as exc:
        raise ConfigError(f"{file}: {key}: cannot read {path}: {exc.strerror or exc}") from exc


def _check_files(config: Config, file: Path) -> None:
    """Fail at start, not at the first delivery, when a referenced file is unusable."""
    for index, (key_path, _) in enumerate(config.security.signers()):
        try:
            load_public_key(key_path)
        except KeyFileError as exc:
            raise ConfigError(f"{file}: security.trusted_keys[{index}]: {exc}") from exc
    if config.mqtt.password_file is not None:
        _read_secret(config.mqtt.password_file, file, "mqtt.password_file")
    if config.mqtt.tls is not None:
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(config.mqtt.tls, name)
            if path is not None and not path.is_file():
                raise ConfigError(f"{file}: mqtt.tls.{name}: no such file {path}")
    if config.photos.http_token_file is not None:
        _read_secret(config.photos.http_token_file, file, "photos.http_token_file")
    if config.live.enabled and config.live.password_file is not None:
        _read_secret(config.live.password_file, file, "live.password_file")
    ca = config.photos.http_ca_file
    if ca is not None and not ca.is_file():
        raise ConfigError(f"{file}: photos.http_ca_file: no such file {ca}")


def load_config(path: Path, *, check_files: bool = True) -> Config:
    """The config at ``path``, or ConfigError naming the file, the key and the problem.
    ``check_files=False``: the files it names (keys, secrets, certificates) are not opened,
    for `doorstep relay-off`, which must work after a stop when systemd has already taken
    the credentials away."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        config = Config.model_validate(raw, context={"base_dir": path.resolve().parent})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{path}: {_key_name(first['loc'])}: {_problem(first)}") from None
    if check_files:
        _check_files(config, path)
    return config


def mqtt_password(settings: MqttConfig) -> str | None:
    if settings.password_file is None:
        return None
    return settings.password_file.read_text(encoding="utf-8").strip()
