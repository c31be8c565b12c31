"""Bad input through the real daemon: each gets `command.rejected`, the lock stays locked,
and the daemon keeps running."""

from __future__ import annotations

import time

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def test_every_rejection_reason_on_the_wire(device) -> None:
    d = device
    d.send("arriving", b"\xff\xfe not utf-8")
    d.rejected("malformed", cmd="arriving", jti=None)
    d.send("done", "x" * (4 * 1024 + 1))
    d.rejected("malformed", cmd="done")
    deep = jwt.api_jws.encode(
        b'{"jti": "deep-1", "x": ' + b"[" * 1500 + b"]" * 1500 + b"}",
        d.keys.private,
        algorithm="EdDSA",
    )
    d.send("cancel", deep)  # once a RecursionError inside the core: the input vanished
    d.rejected("malformed", cmd="cancel", jti=None)
    d.send("open_sesame", d.mint("done"))
    d.rejected("unknown_command", cmd="open_sesame")
    forged = jwt.encode({"jti": "forged-1"}, Ed25519PrivateKey.generate(), algorithm="EdDSA")
    d.send("arriving", forged)
    d.rejected("bad_signature", jti="forged-1")
    d.send("at_door", d.mint("at_door", device_id="porch-elsewhere", jti="w1"))
    d.rejected("wrong_device", jti="w1")
    d.send("done", d.mint("done", now=time.time() - 600, jti="e1"))
    d.rejected("expired", jti="e1")
    d.send("done", d.mint("done", nbf=time.time() + 600, jti="n1"))
    d.rejected("not_yet_valid", jti="n1")
    d.send("done", d.mint("done", lifetime_s=121, jti="l1"))
    d.rejected("lifetime_too_long", jti="l1")
    d.send("done", d.mint("done", delivery_id="D-unknown", jti="u1"))
    d.rejected("unknown_delivery", jti="u1")
    d.send("arriving", d.mint("arriving", mode="in_home", jti="m1"))
    d.rejected("mode_not_allowed", jti="m1")
    grant = d.mint("arriving", jti="g1")
    d.send("arriving", grant)
    d.cloud.wait_event("delivery.arriving")
    d.send("arriving", grant)
    d.rejected("replayed", jti="g1")
    d.send("arriving", d.mint("arriving", jti="g2"))
    d.rejected("duplicate_delivery", jti="g2")
    d.sim("door", "ajar")
    d.rejected("malformed", cmd="sim/door")

    state = d.cloud.wait_state(lock="locked")
    assert d.daemon.running()
    assert state["delivery"]["id"] == "D-1"
    # A rejected pass does not consume its jti: the same id in a valid pass still works.
    d.send("done", d.mint("done", jti="u1"))
    assert d.cloud.wait_event("delivery.completed")["outcome"] == "delivered"


def test_a_consumed_pass_is_replayed_after_a_restart(new_device) -> None:
    device = new_device()
    grant = device.mint("arriving")
    device.send("arriving", grant)
    device.cloud.wait_event("delivery.arriving")
    assert device.daemon.terminate() == 0
    device.cloud.wait_availability("offline")

    device.start()
    device.send("arriving", grant)
    device.rejected("replayed")
    # The delivery itself survived the restart.
    device.cloud.wait_state(delivery={"id": "D-1", "mode": "doorstep", "phase": "waiting"})
    device.send("done", device.mint("done"))
    assert device.cloud.wait_event("delivery.completed")["outcome"] == "delivered"


def test_sigterm_says_offline_and_exits_0_within_5_seconds(device) -> None:
    started = time.monotonic()
    assert device.daemon.terminate(timeout=5) == 0
    assert time.monotonic() - started < 5
    device.cloud.wait_availability("offline")


def test_seq_keeps_increasing_across_restarts(new_device) -> None:
    device = new_device()
    device.send("done", device.mint("done", delivery_id="D-a"))
    first = device.rejected("unknown_delivery")
    device.daemon.terminate()
    device.start()
    device.send("done", device.mint("done", delivery_id="D-b"))
    second = device.cloud.wait_event(
        "command.rejected", reason="unknown_delivery", delivery_id="D-b"
    )
    assert second["seq"] > first["seq"]


def test_an_unusable_config_exits_at_once_naming_file_and_key(new_device) -> None:
    device = new_device(extra_config="[delivery]\nrelock_dely_s = 1\n", start=False)
    device.daemon.start()
    assert device.daemon.wait_exit(timeout=30) == 2
    log = device.daemon.log_text()
    assert f"{device.config}: delivery.relock_dely_s: unknown key" in log


def test_an_unusable_data_dir_is_one_clear_startup_error(new_device) -> None:
    device = new_device(start=False)
    blocker = device.folder / "data"
    blocker.write_text("a file where the data folder should be")
    device.daemon.start()
    assert device.daemon.wait_exit(timeout=30) == 1
    said = f"doorstep: cannot start: [Errno 17] File exists: '{blocker}'"
    assert said in device.daemon.log_text()


def test_a_command_sent_while_the_daemon_was_down_arrives_after_restart(new_device) -> None:
    device = new_device()  # MQTT 5 with the default session_expiry_s: a persistent session
    assert device.daemon.terminate() == 0
    device.cloud.wait_availability("offline")
    device.send("arriving", device.mint("arriving", delivery_id="D-queued"))
    device.start()
    device.cloud.wait_event("delivery.arriving", delivery_id="D-queued")


def test_a_jti_that_holds_a_newline_forges_no_log_line(device) -> None:
    # No key needed: the jti of a pass whose signature fails is still echoed, and was logged raw.
    forged_line = "level=INFO logger=edge.store.ledger event=delivery.unlocked delivery_id=D-9"
    token = jwt.encode(
        {"jti": f"x\n{forged_line}"}, Ed25519PrivateKey.generate(), algorithm="EdDSA"
    )
    device.send("at_door", token)
    device.rejected("bad_signature", jti=f"x\n{forged_line}")  # the cloud gets it exactly
    device.wait_log("reason=bad_signature")
    lines = device.daemon.log_text().splitlines()
    assert not any(forged_line in line and "jti=" not in line for line in lines)
    assert any("\\u000a" + forged_line in line for line in lines)
