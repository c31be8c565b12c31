"""The outbox, its pump and the MQTT link against a real mosquitto: in order, acknowledged,
and nothing removed from disk before its PUBACK."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from edge.config import load_config
from edge.contract.topics import Topics
from edge.store.db import Database
from edge.store.outbox import Outbox
from edge.transport.mqtt import LinkHooks, MqttLink
from edge.workers.pump import OutboxPump
from simulator.daemon import write_sim_config
from simulator.receiver import CloudReceiver
from tests.brokers import Mosquitto
from tests.failing_card import UnreadableOutbox
from tests.waiting import wait_until


def event_body(n: int) -> Callable[[int], bytes]:
    """Event n's payload, once the outbox gives it its seq."""
    return lambda seq: json.dumps({"id": f"e{n}", "seq": seq, "type": "t"}).encode()


def make_link(
    tmp_path: Path, cloud_keys, port: int, pump_ref: list[OutboxPump], messages: list | None = None
) -> MqttLink:
    config = load_config(
        write_sim_config(
            tmp_path / "doorstep.toml",
            device_id="porch-1",
            port=port,
            trusted_key=cloud_keys.public,
            data_dir=tmp_path / "data",
            protocol="5",
        )
    )
    topics = Topics("doorstep", "porch-1")
    return MqttLink(
        config.mqtt,
        topics,
        client_id="doorstep-porch-1",
        hooks=LinkHooks(
            on_message=lambda topic, payload, live: (messages or []).append((topic, payload)),
            on_ack=lambda mid, ok: pump_ref[0].acknowledged(mid, ok),
        ),
        subscriptions=[topics.simulator],
    )


@contextlib.contextmanager
def pumping(
    tmp_path: Path, cloud_keys, broker: Mosquitto, outbox: Outbox, **pump_options: Any
) -> Iterator[tuple[OutboxPump, CloudReceiver]]:
    """The link and the pump running on ``outbox``, with a cloud that listens."""
    refs: list[OutboxPump] = []
    link = make_link(tmp_path, cloud_keys, broker.port, refs)
    pump = OutboxPump(outbox, link, **pump_options)
    refs.append(pump)
    cloud = CloudReceiver(broker.host, broker.port, "doorstep", "porch-1", check_contract=False)
    pump.start()
    link.start()
    try:
        yield pump, cloud
    finally:
        link.stop()
        pump.stop()
        cloud.close()


def test_events_arrive_in_seq_order_and_leave_the_disk_once_acknowledged(
    tmp_path: Path, cloud_keys, mosquitto: Mosquitto
) -> None:
    outbox = Outbox(Database(tmp_path / "doorstep.sqlite"))
    for n in range(30):
        outbox.add_event(
            "doorstep/porch-1/events",
            event_body(n),
        )
    with pumping(tmp_path, cloud_keys, mosquitto, outbox, window=4) as (_, cloud):
        cloud.wait_for(lambda got: len(got.events) >= 30, what="30 events")
        assert [e["seq"] for e in cloud.received.events] == list(range(1, 31))
        cloud.wait_for(lambda got: outbox.backlog(0).count == 0, what="an empty outbox")
        cloud.wait_availability("online")


def test_entries_wait_on_disk_while_the_broker_is_down_and_go_when_it_is_back(
    tmp_path: Path, cloud_keys
) -> None:
    broker = Mosquitto(tmp_path / "broker")
    outbox = Outbox(Database(tmp_path / "doorstep.sqlite"))
    photo = tmp_path / "p1.jpg"
    photo.write_bytes(b"\xff\xd8 jpeg bytes")
    outbox.add_file("doorstep/porch-1/photos/D-1/p1", photo)
    outbox.add_event(
        "doorstep/porch-1/events",
        lambda seq: json.dumps({"id": "x", "seq": seq, "type": "t"}).encode(),
    )
    refs: list[OutboxPump] = []
    link = make_link(tmp_path, cloud_keys, broker.port, refs)  # nothing listens there yet
    pump = OutboxPump(outbox, link)
    refs.append(pump)
    pump.start()
    link.start()
    try:
        assert outbox.backlog(0).count == 2
        broker.start()
        cloud = CloudReceiver(broker.host, broker.port, "doorstep", "porch-1", check_contract=False)
        cloud.wait_for(
            lambda got: got.photos.get("p1") == b"\xff\xd8 jpeg bytes" and got.events,
            timeout=30,
            what="photo and event after the broker started",
        )
        cloud.wait_for(lambda got: outbox.backlog(0).count == 0, what="an empty outbox")
        cloud.close()
    finally:
        link.stop()
        pump.stop()
        broker.stop()


def test_seq_keeps_increasing_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    first_db = Database(path)
    first = Outbox(first_db)
    assert [first.add_event("t", lambda s: b"x") for _ in range(3)] == [1, 2, 3]
    first_db.close()
    again = Outbox(Database(path))
    assert again.add_event("t", lambda s: b"x") == 4
    assert again.backlog(0).count == 4


def test_a_missing_photo_file_does_not_block_the_queue(tmp_path: Path) -> None:
    outbox = Outbox(Database(tmp_path / "doorstep.sqlite"))
    outbox.add_file("t/photo", tmp_path / "gone.jpg")
    outbox.add_event("t/events", lambda s: b"{}")

    class Recorder:
        def __init__(self) -> None:
            self.sent: list[str] = []

        def publish(self, topic: str, payload: bytes, retain: bool = False) -> int:
            self.sent.append(topic)
            return len(self.sent)

    recorder = Recorder()
    pump = OutboxPump(outbox, recorder)
    pump._fill_window()  # one pass of the pump's loop, on this thread
    assert recorder.sent == ["t/events"]
    assert outbox.backlog(0).count == 1


def test_only_this_devices_queued_snapshots_are_dropped(tmp_path: Path) -> None:
    outbox = Outbox(Database(tmp_path / "doorstep.sqlite"))
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"x")
    outbox.add_file("doorstep/porch_1/snapshots/s1", photo)
    outbox.add_file("doorstep/porchX1/snapshots/s2", photo)  # `_` must not act as a wildcard
    outbox.add_file("doorstep/porch_1/photos/D-1/p1", photo)
    outbox.add_file("https://cloud.example/snapshots/D-1/p2.jpg", photo, channel="http")
    outbox.add_event("doorstep/porch_1/events", lambda seq: b"{}")
    topics = Topics("doorstep", "porch_1")
    assert outbox.drop_snapshots(topics.snapshot("")) == 1
    assert [e.topic for e in outbox.pending(0, 10)] == [
        "doorstep/porchX1/snapshots/s2",
        "doorstep/porch_1/photos/D-1/p1",
        "doorstep/porch_1/events",
    ]
    assert len(outbox.pending(0, 10, channel="http")) == 1


def test_an_outbox_that_cannot_be_read_is_one_line_with_its_fix_then_its_recovery(
    tmp_path: Path, cloud_keys, mosquitto: Mosquitto, caplog
) -> None:
    """A failing card: not a traceback every few seconds, and what waited goes once it reads."""
    caplog.set_level(logging.INFO, logger="edge.workers.pump")
    outbox = UnreadableOutbox(Database(tmp_path / "doorstep.sqlite"))

    def read_past(k: int) -> Callable[[], bool]:
        return lambda: len(outbox.reads) > k

    with pumping(tmp_path, cloud_keys, mosquitto, outbox) as (_, cloud):
        for n in range(5):
            outbox.add_event(
                "doorstep/porch-1/events",
                event_body(n),
            )
            wait_until(read_past(n), "the pump to try to read the outbox")
        said = [r for r in caplog.records if "event=outbox_" in r.getMessage()]
        assert len(said) == 1 and not said[0].exc_info  # a disk error: one line, no traceback
        assert said[0].getMessage().startswith('event=outbox_fault error="disk I/O error"')
        assert "fix=\"check the data dir's disk" in said[0].getMessage()
        outbox.failing = False
        outbox.add_event(
            "doorstep/porch-1/events",
            lambda seq: json.dumps({"id": "e5", "seq": seq, "type": "t"}).encode(),
        )
        cloud.wait_for(lambda got: len(got.events) >= 6, what="what waited, sent")
        wait_until(
            lambda: any("event=outbox_recovered" in r.getMessage() for r in caplog.records),
            "the recovery's line",
        )


def test_a_topic_the_broker_refuses_waits_on_disk_without_holding_up_the_others(
    tmp_path: Path, cloud_keys, caplog
) -> None:
    """An ACL that forgot the receipts: twenty refused receipts, more than the window holds,
    are set aside, and the events behind them still go. Once the ACL lets them through
    (mosquitto rereads it on SIGHUP), they go too, in order, and leave the disk."""
    acl = tmp_path / "acl"
    allowed = (
        "topic read doorstep/#\ntopic read homeassistant/#\n"
        "topic write doorstep/porch-1/events\ntopic write doorstep/porch-1/state\n"
        "topic write doorstep/porch-1/availability\n"
    )
    acl.write_text(allowed)
    broker = Mosquitto(
        tmp_path / "broker",
        (f"user root\nlistener {{port}} 127.0.0.1\nallow_anonymous true\nacl_file {acl}\n"),
    ).start()
    caplog.set_level(logging.INFO, logger="edge.workers.pump")
    try:
        db = Database(tmp_path / "doorstep.sqlite")
        outbox = Outbox(db)
        for n in range(20):
            with db.transaction() as conn:
                Outbox.queue_message(conn, f"doorstep/porch-1/receipts/D-{n:02}", f"r{n}".encode())
        for n in range(5):
            outbox.add_event(
                "doorstep/porch-1/events",
                event_body(n),
            )
        with pumping(tmp_path, cloud_keys, broker, outbox, window=4, retry_refused_s=0.5) as (
            _,
            cloud,
        ):
            cloud.wait_for(lambda got: len(got.events) >= 5, what="the events behind the receipts")
            assert [e["id"] for e in cloud.received.events] == [f"e{n}" for n in range(5)]
            wait_until(lambda: outbox.backlog(0).count == 20, "only the receipts left on disk")
            assert not cloud.received.receipts
            said = [
                r.getMessage() for r in caplog.records if "event=topic_refused" in r.getMessage()
            ]
            assert len(said) == 1 and "topic=doorstep/porch-1/receipts/D-00 refused=1" in said[0]
            acl.write_text(allowed + "topic write doorstep/porch-1/receipts/#\n")
            assert broker.process is not None
            broker.process.send_signal(signal.SIGHUP)
            cloud.wait_for(lambda got: len(got.receipts) == 20, what="the receipts, once allowed")
            wait_until(lambda: outbox.backlog(0).count == 0, "an empty outbox")
    finally:
        broker.stop()
