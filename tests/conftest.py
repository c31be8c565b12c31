from __future__ import annotations

from pathlib import Path

import pytest

from simulator.device import CloudKeys
from tests.brokers import Mosquitto
from tests.notify_socket import NotifySocket


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory):
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker
    broker.stop()


@pytest.fixture
def cloud_keys(tmp_path: Path) -> CloudKeys:
    return CloudKeys(tmp_path / "keys")


@pytest.fixture
def notify_socket(tmp_path: Path):
    listener = NotifySocket(tmp_path / "notify")
    yield listener
    listener.sock.close()
