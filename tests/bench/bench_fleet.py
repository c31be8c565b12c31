"""`make bench`: the fleet (issue 12's goal: 1,000 devices, >= 50 deliveries/s sustained for a
minute, nothing lost) against a local mosquitto, each figure beside its floor measured in the
same run on the same broker: a bare QoS 1 round trip between two paho clients on the fleet's
own network loop (what an unlock's at_door -> delivery.unlocked cannot beat), and the QoS 1
messages/s that loop and broker carry with nothing else to do, in deliveries/s (the messages a
delivery costs are counted in the run)."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from simulator.fleet.netloop import NetLoop
from simulator.fleet.run import FleetOptions, run_fleet
from tests.bench.results import Results
from tests.brokers import Mosquitto

DEVICES = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
RATE = 50.0
DURATION = 60.0
ROUND_TRIPS = 500
FLOOD = 20000
WINDOW = 200


def client(loop: NetLoop, port: int, name: str) -> mqtt.Client:
    made = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
    loop.add(made)
    made.connect("127.0.0.1", port, keepalive=60)
    return made


def floor(port: int) -> tuple[list[float], float, float]:
    """Round trips (ms), one-way QoS 1 messages/s through the broker, and the CPU seconds a
    message costs this process (sent and received here, as in the fleet), on one NetLoop."""
    loop = NetLoop()
    ping, echo = client(loop, port, "floor-ping"), client(loop, port, "floor-echo")
    got: list[float] = []

    def pong(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        c.publish("floor/pong", msg.payload, qos=1)

    echo.on_message = pong
    ping.on_message = lambda c, u, msg: got.append(time.perf_counter())
    echo.subscribe("floor/ping", qos=1)
    ping.subscribe("floor/pong", qos=1)
    for _ in range(20):
        loop.poll(0.05)
    trips = []
    for _ in range(ROUND_TRIPS):
        before, started = len(got), time.perf_counter()
        ping.publish("floor/ping", b"x" * 200, qos=1)
        while len(got) == before:
            loop.poll(0.01)
            assert time.perf_counter() - started < 10, "a floor round trip never came back"
        trips.append((got[-1] - started) * 1000)
    received = 0

    def count(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal received
        received += 1

    echo.on_message = count
    started, cpu = time.perf_counter(), time.process_time()
    deadline = time.monotonic() + 120
    sent = 0
    while received < FLOOD:  # at most WINDOW on the way: mosquitto queues 1,000 per client
        while sent < FLOOD and sent - received < WINDOW:
            ping.publish("floor/ping", b"x" * 400, qos=1)
            sent += 1
        loop.poll(0.001)
        assert time.monotonic() < deadline, f"the floor's flood stalled at {received}"
    per_second = FLOOD / (time.perf_counter() - started)
    cpu_per_message = (time.process_time() - cpu) / FLOOD
    loop.close()
    return trips, per_second, cpu_per_message


def main() -> None:
    results = Results("fleet")
    results.header()
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker").start()
        try:
            cpu = time.process_time()
            fleet = run_fleet(
                FleetOptions(
                    devices=DEVICES,
                    rate=RATE,
                    duration=DURATION,
                    host=broker.host,
                    port=broker.port,
                ),
                progress=None,
            )
            cpu = time.process_time() - cpu
            trips, messages, message_cpu = floor(broker.port)  # the same broker, right after
        finally:
            broker.stop()
    per_delivery = fleet.messages / max(fleet.deliveries, 1)
    trip50, trip99 = statistics.median(trips), sorted(trips)[int(len(trips) * 0.99)]
    results.add(
        f"fleet {DEVICES} devices: deliveries/s",
        f"{fleet.rate:.1f}/s over {fleet.duration_s:.0f} s",
        f"{messages / per_delivery:.0f}/s (bare QoS 1, {per_delivery:.0f} msgs each)",
        f"x{fleet.rate / (messages / per_delivery):.2f}",
        f">= {RATE:.0f}/s",
    )
    results.add(
        "fleet unlock (at_door -> unlocked)",
        f"p50 {fleet.unlock_p50_ms or 0:.1f} ms, p99 {fleet.unlock_p99_ms or 0:.1f} ms",
        f"p50 {trip50:.1f} ms, p99 {trip99:.1f} ms (round trip)",
        f"x{(fleet.unlock_p50_ms or 0) / trip50:.1f} / x{(fleet.unlock_p99_ms or 0) / trip99:.1f}",
    )
    results.add(
        "fleet lost (events + photos)",
        f"{fleet.lost} of {fleet.events + fleet.photos}",
        "",
        "",
        "0",
    )
    ours, least = cpu / max(fleet.deliveries, 1) * 1000, message_cpu * per_delivery * 1000
    results.add(
        "fleet CPU per delivery (one process)",
        f"{ours:.1f} ms",
        f"{least:.1f} ms (its messages, bare)",
        f"x{ours / least:.1f}",
        "",
    )
    print(fleet.line())
    results.write()


if __name__ == "__main__":
    main()
