"""Loading the config file: every problem is one message naming file, key and problem."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel

from edge.config import Config, ConfigError, load_config
from edge.domain.passes import Mode, Signer
from edge.domain.policy import Window

EXAMPLE = Path(__file__).parents[2] / "firmware_config" / "doorstep.toml"


@pytest.fixture
def folder(tmp_path: Path, cloud_keys) -> Path:
    assert cloud_keys.public == tmp_path / "keys" / "cloud.pub.pem"
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "doorstep.toml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = 'device_id = "porch-1"\n[security]\ntrusted_keys = ["keys/cloud.pub.pem"]\n'


def error(folder: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(folder, text))
    return str(caught.value)


def test_the_shipped_example_loads_with_its_documented_defaults(folder: Path) -> None:
    config = load_config(write(folder, EXAMPLE.read_text()))
    assert config.device_id == "porch-1"
    assert config.security.signers() == [(folder / "keys" / "cloud.pub.pem", Signer("cloud.pub"))]
    assert config.delivery.in_home_enabled is False
    assert config.mqtt.protocol == "5"


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        names.append(prefix + name)
        inner = typing.get_args(field.annotation) or (field.annotation,)
        for kind in inner:
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                names += _keys(kind, f"{prefix}{name}.")
    return names


def test_the_example_documents_every_key() -> None:
    text = EXAMPLE.read_text()
    missing = [
        key
        for key in _keys(Config)
        if not re.search(rf"^#? ?{re.escape(key.rsplit('.', 1)[-1])} = ", text, re.M)
        and f"[{key}]" not in text
    ]
    assert missing == []


@pytest.mark.parametrize("board", ["pins-pi4.toml", "pins-pi5.toml"])
def test_the_shipped_pin_maps_load(folder: Path, board: str) -> None:
    config = load_config(write(folder, MINIMAL + (EXAMPLE.parent / board).read_text()))
    pins = config.hardware.pins
    assert (pins.lock_relay, pins.lock_sensor, pins.door_contact, pins.doorbell) == (17, 27, 22, 23)
    assert config.hardware.backend == "pi" and config.hardware.camera.flips == (False, False)


def test_camera_rotation_is_both_flips(folder: Path) -> None:
    config = load_config(
        write(folder, MINIMAL + "[hardware.camera]\nrotation = 180\nhflip = true\n")
    )
    assert config.hardware.camera.flips == (False, True)
    assert "hardware.camera.rotation" in error(
        folder, MINIMAL + "[hardware.camera]\nrotation = 90\n"
    )


def test_defaults(folder: Path) -> None:
    config = load_config(write(folder, MINIMAL))
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.topic_prefix) == (
        "127.0.0.1",
        1883,
        "doorstep",
    )
    assert (
        config.security.clock_skew_s,
        config.security.max_command_lifetime_s,
        config.security.max_grant_lifetime_s,
    ) == (30, 120, 86400)
    assert config.storage.data_dir == Path("/var/lib/doorstep")


def test_relative_paths_resolve_against_the_config_folder(folder: Path) -> None:
    config = load_config(write(folder, MINIMAL + '[storage]\ndata_dir = "data"\n'))
    assert config.storage.data_dir == folder.resolve() / "data"


def test_paths_expand_environment_variables(folder: Path, monkeypatch) -> None:
    (folder / "creds").mkdir()
    (folder / "creds" / "doorstep_mqtt-password").write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(folder / "creds"))
    password = 'password_file = "${CREDENTIALS_DIRECTORY}/doorstep_mqtt-password"\n'
    config = load_config(write(folder, MINIMAL + '[mqtt]\nusername = "porch-1"\n' + password))
    assert config.mqtt.password_file == folder / "creds" / "doorstep_mqtt-password"
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    message = error(folder, MINIMAL + '[mqtt]\npassword_file = "$CREDENTIALS_DIRECTORY/x"\n')
    assert "mqtt.password_file" in message and "cannot read" in message


def test_durations_take_integers_and_fractions(folder: Path) -> None:
    config = load_config(
        write(folder, MINIMAL + "[delivery]\nrelock_delay_s = 0.5\nunlock_timeout_s = 45\n")
    )
    assert (config.delivery.relock_delay_s, config.delivery.unlock_timeout_s) == (0.5, 45)


@pytest.mark.parametrize(
    "text, key, problem",
    [
        (MINIMAL + "[delivery]\nrelock_dely_s = 2\n", "delivery.relock_dely_s", "unknown key"),
        ("colour = 1\n" + MINIMAL, "colour", "unknown key"),
        ('[security]\ntrusted_keys = ["keys/cloud.pub.pem"]\n', "device_id", "missing"),
        ('device_id = "porch 1"\n[security]\ntrusted_keys = ["k"]\n', "device_id", "pattern"),
        ('device_id = "p"\n', "security", "missing"),
        (MINIMAL + '[delivery]\nrelock_delay_s = "2"\n', "delivery.relock_delay_s", "number"),
        (MINIMAL + "[delivery]\nin_home_enabled = 1\n", "delivery.in_home_enabled", "boolean"),
        (MINIMAL + "[delivery]\nunlock_timeout_s = 0\n", "delivery.unlock_timeout_s", "greater"),
        (MINIMAL + '[mqtt]\nprotocol = "4"\n', "mqtt.protocol", "'5' or '3.1.1'"),
        (MINIMAL + "[mqtt]\nport = 70000\n", "mqtt.port", "65535"),
        (MINIMAL + '[hardware]\nbackend = "arduino"\n', "hardware.backend", "'pi' or 'sim'"),
        (MINIMAL + "[hardware.pins]\ndoorbell = 17\n", "hardware.pins", "used twice"),
        (MINIMAL + "[hardware.pins]\ndoorbell = 40\n", "hardware.pins.doorbell", "27"),
        ('device_id = "p"\n[security]\ntrusted_keys = []\n', "security.trusted_keys", "at least 1"),
        (
            MINIMAL + '[owner]\nunlock_code_hash = "123456"\n',
            "owner.unlock_code_hash",
            "doorstep owner-code",
        ),
        (
            MINIMAL + '[owner]\nunlock_code_hash = "scrypt$n=16384,r=8,p=1$abc$abcd"\n',
            "owner.unlock_code_hash",
            "not base64",
        ),  # hand-edited: it once failed only at unlock
        (
            MINIMAL + '[owner]\nunlock_code_hash = "scrypt$n=1000,r=8,p=1$c2FsdA==$c2FsdA=="\n',
            "owner.unlock_code_hash",
            "not usable",
        ),
        (
            MINIMAL + '[owner]\nunlock_code_hash = "scrypt$n=1048576,r=8,p=1$c2FsdA==$'
            'MDEyMzQ1Njc4OWFiY2RlZg=="\n',
            "owner.unlock_code_hash",
            "not usable",
        ),  # 1 GiB
    ],
)
def test_bad_values_name_the_key(folder: Path, text: str, key: str, problem: str) -> None:
    message = error(folder, text)
    assert message.startswith(f"{folder / 'doorstep.toml'}: {key}: ")
    assert problem in message


@pytest.mark.parametrize(
    "url, problem",
    [
        (None, "needs http_url"),
        ('"https://cloud.example/{device_id}/{delivery_id}.jpg"', "must contain {photo_id}"),
        ('"https://cloud.example/{photo_id}/{colour}"', "unknown placeholder"),
        ('"http://cloud.example/{photo_id}"', "must be https://"),
        ('"ftp://localhost/{photo_id}"', "must be https://"),
    ],
)
def test_http_transport_needs_a_safe_upload_url(
    folder: Path, url: str | None, problem: str
) -> None:
    line = f"http_url = {url}\n" if url else ""
    message = error(folder, MINIMAL + f'[photos]\ntransport = "http"\n{line}')
    assert "photos" in message and problem in message


def test_http_transport_to_loopback_or_https_is_accepted(folder: Path) -> None:
    for url in (
        "https://cloud.example/{device_id}/{delivery_id}/{photo_id}.jpg",
        "http://127.0.0.1:8080/{photo_id}",
    ):
        config = load_config(
            write(folder, MINIMAL + f'[photos]\ntransport = "http"\nhttp_url = "{url}"\n')
        )
        assert config.photos.http_url == url


def test_a_missing_key_file_is_named(folder: Path) -> None:
    message = error(folder, 'device_id = "p"\n[security]\ntrusted_keys = ["keys/nope.pem"]\n')
    assert "security.trusted_keys[0]" in message and "nope.pem" in message


def test_a_key_that_is_not_ed25519_is_refused(folder: Path) -> None:
    (folder / "keys" / "junk.pem").write_text("-----BEGIN PUBLIC KEY-----\nxx\n")
    message = error(folder, 'device_id = "p"\n[security]\ntrusted_keys = ["keys/junk.pem"]\n')
    assert "security.trusted_keys[0]" in message and "not a PEM public key" in message


def test_a_public_key_of_another_kind_is_named(folder: Path) -> None:

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (folder / "keys" / "ec.pem").write_bytes(pem)
    message = error(folder, 'device_id = "p"\n[security]\ntrusted_keys = ["keys/ec.pem"]\n')
    assert "security.trusted_keys[0]" in message and "not an Ed25519 public key" in message


def test_invalid_toml_and_missing_file(folder: Path) -> None:
    assert "not valid TOML" in error(folder, "device_id = \n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(folder / "absent.toml")


def test_check_config_cli_prints_one_error_and_exits_2(folder: Path) -> None:
    path = write(folder, MINIMAL + "[delivery]\nrelock_dely_s = 2\n")
    result = subprocess.run(
        [sys.executable, "-m", "edge", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"doorstep: config error: {path}: delivery.relock_dely_s: unknown key"
    ]


def test_check_config_cli_summarises_a_good_config(folder: Path) -> None:
    path = write(folder, MINIMAL)
    result = subprocess.run(
        [sys.executable, "-m", "edge", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "device_id         porch-1" in result.stdout


def test_privacy_masks_are_checked_and_a_bad_one_is_named(folder: Path) -> None:
    good = load_config(
        write(folder, MINIMAL + "[privacy]\nmasks = [[[0, 0], [0.5, 0], [0.5, 1]]]\n")
    )
    assert good.privacy.masks == [[(0.0, 0.0), (0.5, 0.0), (0.5, 1.0)]]
    assert good.privacy.confidential_retention_days == 7
    two = error(
        folder, MINIMAL + "[privacy]\nmasks = [[[0, 0], [1, 1], [0, 1]], [[0, 0], [1, 1]]]\n"
    )
    assert "privacy.masks[1]" in two and "at least 3 points" in two
    outside = error(folder, MINIMAL + "[privacy]\nmasks = [[[0, 0], [1.5, 0], [0, 1]]]\n")
    assert "privacy.masks[0][1][0]" in outside and "less than or equal to 1" in outside


def test_a_drop_zone_is_four_fractions_in_order(folder: Path) -> None:
    good = load_config(write(folder, MINIMAL + "[delivery]\ndrop_zone = [0.4, 0.65, 0.6, 0.85]\n"))
    assert good.delivery.drop_zone == (0.4, 0.65, 0.6, 0.85)
    assert "x0 < x1" in error(folder, MINIMAL + "[delivery]\ndrop_zone = [0.6, 0.6, 0.4, 0.8]\n")
    assert "delivery.drop_zone" in error(folder, MINIMAL + "[delivery]\ndrop_zone = [0, 0, 2, 1]\n")


# --- [policy] and named keys (docs/protocol.md §11) --------------------------------------------

POLICY = (
    MINIMAL
    + """[policy]
timezone = "Europe/London"
couriers = ["courier-7"]
[policy.in_home_hours]
mon = ["09:00-12:00", "14:00-18:00"]
sat = ["10:00-13:00"]
"""
)


def test_the_policy_becomes_the_machines_rules(folder: Path) -> None:
    from edge.app import rules_from  # noqa: PLC0415

    policy = rules_from(load_config(write(folder, POLICY))).policy
    assert policy.couriers == frozenset({"courier-7"})
    assert policy.in_home_hours is not None and set(policy.in_home_hours.days[0]) == {
        Window(540, 720),
        Window(840, 1080),
    }
    assert policy.in_home_hours.days[1] == ()  # a day not given has no window
    unset = rules_from(load_config(write(folder, MINIMAL))).policy
    assert (unset.in_home_hours, unset.couriers) == (None, None)


def test_a_trusted_key_may_be_named_and_limited_to_modes(folder: Path) -> None:
    config = load_config(
        write(
            folder,
            'device_id = "p"\n[security]\ntrusted_keys = ['
            '"keys/cloud.pub.pem", { file = "keys/cloud.pub.pem", '
            'name = "acme", modes = ["doorstep"] }]\n',
        )
    )
    assert config.security.signers() == [
        (folder / "keys" / "cloud.pub.pem", Signer("cloud.pub")),
        (folder / "keys" / "cloud.pub.pem", Signer("acme", frozenset({Mode.DOORSTEP}))),
    ]


@pytest.mark.parametrize(
    "text, key, problem",
    [
        (MINIMAL + '[policy]\ntimezone = "Mars/Olympus"\n', "policy.timezone", "unknown time zone"),
        (
            MINIMAL + '[policy]\ntimezone = "Europe/London"\n[policy.in_home_hours]\n'
            'mon = ["9-12"]\n',
            "policy.in_home_hours.mon[0]",
            "not HH:MM-HH:MM",
        ),
        (
            MINIMAL + '[policy]\ntimezone = "Europe/London"\n[policy.in_home_hours]\n'
            'mon = ["22:00-02:00"]\n',
            "policy.in_home_hours.mon[0]",
            "crosses midnight",
        ),
        (
            MINIMAL + '[policy]\ntimezone = "Europe/London"\n[policy.in_home_hours]\n'
            'monday = ["09:00-12:00"]\n',
            "policy.in_home_hours.monday",
            "unknown key",
        ),
        (MINIMAL + '[policy.in_home_hours]\nmon = ["09:00-12:00"]\n', "policy", "needs timezone"),
        (
            'device_id = "p"\n[security]\ntrusted_keys = [{ file = "keys/cloud.pub.pem", '
            'name = "acme", modes = ["teleport"] }]\n',
            "security.trusted_keys[0]",
            "in_home",
        ),
        (
            'device_id = "p"\n[security]\ntrusted_keys = [{ file = "keys/cloud.pub.pem", '
            'name = "acme", modes = [] }]\n',
            "security.trusted_keys[0]",
            "at least 1",
        ),
    ],
)
def test_bad_policy_values_name_the_key(folder: Path, text: str, key: str, problem: str) -> None:
    message = error(folder, text)
    assert message.startswith(f"{folder / 'doorstep.toml'}: {key}") and problem in message, message


def test_a_named_keys_missing_file_is_named(folder: Path) -> None:
    message = error(
        folder,
        'device_id = "p"\n[security]\ntrusted_keys = [{ file = "keys/nope.pem", name = "acme" }]\n',
    )
    assert "security.trusted_keys[0]" in message and "nope.pem" in message
