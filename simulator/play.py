"""Play a scenario (simulator/scenario.py) against the real daemon, end to end, and judge it.

Each run gets its own broker (mosquitto when installed, restartable for an outage; else the
embedded one), a fresh cloud key pair, data folder and device id, and `doorstep run` as a
process. Every message the cloud receives is checked against docs/contract/; when the steps are
done, the `never` checks, the photos' hashes and the signed receipts are checked too. The report
is the demo's (report.html, report.json, photos) with the verdict added.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.contract.schemas import ContractError
from simulator.broker import EmbeddedBroker
from simulator.cloud import mint
from simulator.device import CloudKeys, DeviceUnderTest, Setup, wait_log
from simulator.mosquitto import Mosquitto, installed
from simulator.receipts import verify_receipts
from simulator.receiver import Access, Received
from simulator.report import write_report
from simulator.scenario import Scenario, Step
from simulator.timeline import Timeline

PREFIX = "doorstep"


class StepFailed(AssertionError):
    pass


@dataclass
class Verdict:
    scenario: str
    failures: list[str] = field(default_factory=list)
    report: Path | None = None
    log: str = ""  # the daemon's log, for a failure's explanation

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class External:
    """A broker someone else runs (`--broker HOST:PORT`): never stopped, so no outages."""

    host: str
    port: int

    def stop(self) -> None:
        pass


def play(
    scenario: Scenario,
    out: Path,
    broker_address: str | None = None,
    pace_s: float = 0.0,
    embedded: bool = False,
) -> Verdict:
    """Play ``scenario`` into ``out``: against ``broker_address`` when given, else a broker of
    its own (mosquitto where installed, for outages; the embedded one when ``embedded``)."""
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    return _Run(scenario, out, broker_address, pace_s, embedded).run()


class _Run:
    def __init__(
        self,
        scenario: Scenario,
        out: Path,
        broker_address: str | None,
        pace_s: float,
        embedded: bool,
    ) -> None:
        self.scenario, self.out, self.pace_s = scenario, out, pace_s
        self.verdict = Verdict(scenario.name)
        self.timeline = Timeline()
        self.device_id = f"{scenario.name[:40]}-{secrets.token_hex(3)}"
        self.keys = CloudKeys(out / "keys")
        self.stranger = Ed25519PrivateKey.generate()
        self.sent: dict[tuple[str, str], str] = {}  # (cmd, delivery) -> the last pass
        self.broker = self._broker(broker_address, embedded)

    def _broker(self, address: str | None, embedded: bool) -> Mosquitto | EmbeddedBroker | External:
        if address:
            host, _, port = address.rpartition(":")
            return External(host or "127.0.0.1", int(port))
        if installed() and not embedded:  # persistent: sessions and messages survive an outage
            return Mosquitto(self.out / "broker", persistent=True).start()
        broker = EmbeddedBroker()
        broker.start()
        return broker

    def run(self) -> Verdict:
        self.device = DeviceUnderTest(
            self.out,
            self.keys,
            self.broker,
            Setup(
                device_id=self.device_id,
                prefix=PREFIX,
                protocol="3.1.1",
                extra_config=self.scenario.config,
                cloud=Access(session=f"cloud-{self.device_id}"),
                on_event=self.timeline.device_event,
            ),
        )
        self.daemon, self.cloud = self.device.daemon, self.device.cloud
        self.timeline.say("world", f"scenario {self.scenario.name}: {self.scenario.summary}")
        try:
            self._start_daemon()
            for number, step in enumerate(self.scenario.steps, 1):
                if step.note:
                    self.timeline.say("note", step.note)
                try:
                    self._do(step)
                except (StepFailed, TimeoutError) as failure:
                    raise StepFailed(f"step {number} ({step.action}): {failure}") from None
            self._final_checks()
        except StepFailed as failure:
            self.verdict.failures.append(str(failure))
        finally:
            self._stop()
        self.verdict.log = self.daemon.log_text() if self.device.log_path.exists() else ""
        self.verdict.report = write_report(
            self.out,
            self.cloud.received,
            self.timeline.steps,
            f"doorstep scenario {self.scenario.name}: {self.scenario.summary}",
            verdict={"passed": self.verdict.passed, "failures": self.verdict.failures},
        )
        word = "PASSED" if self.verdict.passed else "FAILED"
        self.timeline.say(
            "verdict",
            f"{word} {self.scenario.name}"
            + "".join(f"\n    {failure}" for failure in self.verdict.failures),
        )
        return self.verdict

    # --- steps --------------------------------------------------------------------------

    def _do(self, step: Step) -> None:
        if self.pace_s:
            time.sleep(self.pace_s)  # presentation only: every check waits on its condition
        steps: dict[str, Callable[[Step], None]] = {
            "send": self._send,
            "sim": self._world,
            "owner": self._world,
            "expect": self._expect,
            "expect_state": self._expect_state,
            "expect_log": self._expect_log,
            "receipt": self._receipt,
            "never": self._never,
            "never_photos": self._never,
            "check_seq": self._check_seq,
            "daemon": self._daemon,
            "broker": self._broker_step,
        }
        steps[step.action](step)

    def _world(self, step: Step) -> None:
        self.timeline.say(
            "world" if step.sim else "owner", f"{step.sim or step.owner}: {step.payload}"
        )
        assert step.payload is not None
        self.cloud.publish(f"{step.action}/{step.sim or step.owner}", step.payload)

    def _expect_state(self, step: Step) -> None:
        assert step.expect_state is not None
        self.cloud.wait_state(step.within_s, **step.expect_state)
        self.timeline.say("check", f"state has {_said(step.expect_state)}")

    def _receipt(self, step: Step) -> None:
        self.cloud.wait_for(
            lambda got: step.receipt in got.receipts,
            step.within_s,
            f"the receipt of {step.receipt}",
        )
        self.timeline.say("check", f"the signed receipt of {step.receipt} came")

    def _never(self, step: Step) -> None:
        """Checked at the end of the run; here it is only said."""
        if step.action == "never_photos":
            self.timeline.say("check", "(at the end) no photo leaves the device")
        else:
            self.timeline.say(
                "check", f"(at the end) no {step.never} {_said(step.fields)}".rstrip()
            )

    def _send(self, step: Step) -> None:
        assert step.send is not None
        who = "cloud" if step.send == "arriving" else "courier"
        if step.replay:
            token = self.sent.get((step.send, step.delivery))
            if token is None:
                raise StepFailed(f"no earlier {step.send} pass for {step.delivery} to replay")
            self.timeline.say("attacker", f"replays the {step.send} pass of {step.delivery}")
        else:
            key = self.keys.private if step.signed_by == "cloud" else self.stranger
            token = mint(
                key,
                step.send,
                device_id=step.audience or self.device_id,
                delivery_id=step.delivery,
                mode=step.mode or "doorstep",
                confidential=step.confidential or None,
            )
            self.sent[(step.send, step.delivery)] = token
            if step.signed_by == "stranger" or step.audience:
                who = "attacker"
            mode = f" ({step.mode})" if step.send == "arriving" else ""
            self.timeline.say(
                who,
                f"sends {step.send} for {step.delivery}{mode}"
                + (" signed by an untrusted key" if step.signed_by != "cloud" else "")
                + (f" for {step.audience}" if step.audience else ""),
            )
        self.cloud.publish(f"cmd/{step.send}", token)

    def _expect(self, step: Step) -> None:
        assert step.expect is not None
        kind, fields, count = step.expect, step.fields, step.count

        def enough(got: Received) -> bool:
            return len(_matching(got.events, kind, fields)) >= count

        try:
            self.cloud.wait_for(enough, step.within_s)
        except TimeoutError:
            seen = [
                f"{e['type']} {e.get('reason') or e.get('outcome') or ''}".strip()
                for e in self.cloud.received.events[-8:]
            ]
            raise StepFailed(
                f"no {kind} {_said(fields)} within {step.within_s:g}s; the last "
                f"events were: {', '.join(seen) or 'none'}"
            ) from None
        self.timeline.say("check", f"saw {kind} {_said(fields)}".rstrip())

    def _expect_log(self, step: Step) -> None:
        assert step.expect_log is not None
        try:
            wait_log(self.daemon, step.expect_log, step.within_s, step.count)
        except AssertionError:
            raise StepFailed(
                f"the daemon did not log {step.expect_log!r} {step.count} time(s)"
            ) from None
        self.timeline.say("check", f"the daemon logged {step.expect_log!r}")

    def _check_seq(self, step: Step) -> None:
        def whole(got: Received) -> bool:
            seqs = sorted({e["id"]: e["seq"] for e in got.events}.values())
            return bool(seqs) and seqs == list(range(1, len(seqs) + 1))

        try:
            self.cloud.wait_for(whole, step.within_s)
        except TimeoutError:
            seqs = sorted({e["id"]: e["seq"] for e in self.cloud.received.events}.values())
            missing = sorted(set(range(1, max(seqs, default=0) + 1)) - set(seqs))
            raise StepFailed(f"events missing: seq {missing}") from None
        self.timeline.say(
            "check", f"every event arrived: seq 1..{len(self.cloud.received.events)} without a gap"
        )

    def _daemon(self, step: Step) -> None:
        if step.daemon == "kill":
            self.daemon.kill()
            self.timeline.say("world", "the daemon is killed (kill -9)")
        elif step.daemon == "stop":
            status = self.daemon.terminate()
            self.timeline.say("world", f"the daemon stops on SIGTERM (exit {status})")
            if status != 0:
                raise StepFailed(f"the daemon exited {status} on SIGTERM")
        else:
            self._start_daemon()

    def _start_daemon(self) -> None:
        try:
            self.device.start()
        except AssertionError:
            raise StepFailed("the daemon did not come online within 30 s") from None
        self.timeline.say("device", "online")

    def _broker_step(self, step: Step) -> None:
        if not isinstance(self.broker, Mosquitto):
            raise StepFailed(
                "a broker outage needs the runner's own mosquitto (install "
                "mosquitto; not with --broker)"
            )
        if step.broker == "down":
            self.broker.stop()
            self.timeline.say("world", "the broker goes down")
        else:
            self.broker.start()
            self.timeline.say("world", "the broker is back")

    # --- the end ------------------------------------------------------------------------

    def _final_checks(self) -> None:
        got = self.cloud.received
        for step in self.scenario.steps:
            if step.never is not None and (found := _matching(got.events, step.never, step.fields)):
                raise StepFailed(f"{step.never} {_said(step.fields)} came: {found[0]}")
        if any(step.never_photos for step in self.scenario.steps) and (
            got.photos or got.retained.get("image/latest")
        ):
            raise StepFailed(f"photos left the device: {sorted(got.photos)}")
        for event in got.events:
            data = got.photos.get(event.get("photo_id", ""))
            if (
                event["type"] == "delivery.photo"
                and data is not None
                and hashlib.sha256(data).hexdigest() != event["sha256"]
            ):
                raise StepFailed(f"photo {event['photo_id']} does not match its sha256")
        if got.receipt_order:
            self.cloud.wait_for(lambda got: got.retained.get("device_key"), 10, "device_key")
            clips = {e["clip_id"]: got.clip(e["clip_id"]) for e in got.events if "clip_id" in e}
            verdict = verify_receipts(
                got.retained["device_key"],
                [got.receipts[d] for d in got.receipt_order],
                got.photos,
                clips=clips,
            )
            if not verdict.ok:
                raise StepFailed(f"receipts: {'; '.join(verdict.problems)}")
            self.timeline.say(
                "check",
                f"{len(got.receipt_order)} signed receipts verify "
                f"({verdict.photos_checked} photos, {verdict.clips_checked} clips)",
            )

    def _stop(self) -> None:
        if self.daemon.running():
            status = self.daemon.terminate()
            if status != 0:
                self.verdict.failures.append(f"the daemon exited {status} on SIGTERM")
        try:
            self.cloud.close()
        except ContractError as broken:
            self.verdict.failures.append(f"messages broke the contract: {broken}")
        self.broker.stop()


def _matching(
    events: list[dict[str, Any]], kind: str, fields: dict[str, Any]
) -> list[dict[str, Any]]:
    return [
        e for e in events if e["type"] == kind and all(e.get(k) == v for k, v in fields.items())
    ]


def _said(fields: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in fields.items())
