"""Past one machine, on a clustered broker: a two-node RabbitMQ cluster (Debian's
rabbitmq-server 3.10, MQTT plugin, MQTT 3.1.1) started here. The fleet's devices spread over
both nodes with the cloud on the first: every delivery completes, nothing is lost; and the real
`doorstep run` on one node serves a cloud on the other (`pytest -m slow`, `make fleet-cluster`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simulator import rabbitmq
from simulator.device import DeviceUnderTest, Setup
from simulator.fleet.run import FleetOptions, run_fleet

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not rabbitmq.installed(), reason="rabbitmq-server is not installed (make fleet-cluster)"
    ),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rabbitmq.RabbitCluster]:
    started = rabbitmq.RabbitCluster(tmp_path_factory.mktemp("rabbitmq")).start()
    yield started
    started.stop()


@dataclass
class Split:
    """The daemon on one node, its cloud on the other."""

    host: str
    port: int
    cloud_host: str
    cloud_port: int


def test_the_fleet_spread_over_both_nodes_loses_nothing(cluster) -> None:
    (host, first), (_, second) = cluster.addresses
    result = run_fleet(
        FleetOptions(
            devices=60,
            rate=20,
            duration=3,
            host=host,
            port=first,
            protocol="3.1.1",
            device_hosts=((host, first), (host, second)),
            check_contract=True,
        ),
        progress=None,
    )
    assert (result.online, result.failed, result.timed_out, result.breaches) == (60, 0, 0, 0), (
        result.failures
    )
    assert result.deliveries == 60 and result.lost == 0


def test_doorstep_run_on_one_node_serves_a_cloud_on_the_other(
    cluster, tmp_path: Path, cloud_keys: Any
) -> None:
    (host, first), (_, second) = cluster.addresses
    device = DeviceUnderTest(
        tmp_path, cloud_keys, Split(host, second, host, first), Setup(protocol="3.1.1")
    )
    try:
        device.start()
        device.send("arriving", device.mint("arriving"))
        device.send("done", device.mint("done"))
        completed = device.cloud.wait_event("delivery.completed", timeout=30)
        assert completed["outcome"] == "delivered"
        device.cloud.wait_for(lambda got: "D-1" in got.receipts, what="the signed receipt")
        assert not device.cloud.violations
    finally:
        device.stop()
