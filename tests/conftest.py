from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from simulator.cloud import generate_keypair, load_private_key
from tests.brokers import Mosquitto
from tests.notify_socket import NotifySocket


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory):
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker
    broker.stop()


class CloudKeys:
    """The cloud's key pair, generated for the test; `public` is the PEM file a device trusts."""

    def __init__(self, folder: Path) -> None:
        private, self.public = generate_keypair(folder)
        self.private: Ed25519PrivateKey = load_private_key(private)


@pytest.fixture
def cloud_keys(tmp_path: Path) -> CloudKeys:
    return CloudKeys(tmp_path / "keys")


@pytest.fixture
def notify_socket(tmp_path: Path):
    listener = NotifySocket(tmp_path / "notify")
    yield listener
    listener.sock.close()
