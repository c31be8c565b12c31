"""The core carries out each Transition in one order, with fakes for every part: a relock
before the disk, the record in one go, an unlock only after its record, then the outward
actions; a record that cannot be written is decided on again by the machine."""

from __future__ import annotations

import contextlib
import itertools
import json
import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from edge.domain import machine
from edge.domain.model import (
    CameraHealth,
    Capture,
    DoorMoved,
    Indicate,
    Led,
    LockReading,
    LockSensed,
    Now,
    ProveCamera,
    Record,
    Rules,
    Sound,
    State,
    Tick,
    Tune,
    Watch,
)
from edge.loop.core import Core
from edge.loop.executor import Ports
from edge.loop.inbox import Inbox
from tests.unit.helpers import at, command, grant, proof, run

RULES = Rules(in_home_enabled=True)


class World:
    """Every fake writes into one journal, so the order across parts can be checked."""

    def __init__(self) -> None:
        self.journal: list[Any] = []
        self.failing = False
        self.relay_broken = False
        self.states: list[dict[str, Any]] = []

    # the Lock
    def drive(self, locked: bool) -> None:
        self.journal.append(("drive", "locked" if locked else "unlocked"))
        if self.relay_broken:
            raise RuntimeError("lgpio: GPIO chip gone")

    def sensed(self) -> LockReading:
        drives = [entry[1] for entry in self.journal if entry[0] == "drive"]
        return LockReading(drives[-1]) if drives else LockReading.LOCKED

    # the ledger
    def commit(self, record: Record, now: Now) -> None:
        if not record:
            return
        if self.failing:
            raise OSError(28, "No space left on device")
        self.journal.append(
            (
                "commit",
                record.consume.jti if record.consume else None,
                [str(e.type) for e in record.events],
            )
        )

    # the Effects port
    def carry_out(self, action: Any) -> None:
        self.journal.append(("effect", action))

    # the intake
    def admit(self, name: str, payload: bytes, now: float) -> Any:
        raise AssertionError("no broker messages in these tests")


def ports(world: World) -> Ports:
    return Ports(
        intake=world,
        ledger=world,
        lock=world,
        effects=world,
        publish_state=lambda body: world.states.append(json.loads(body)),
    )


ONE_SECOND_IN = at(1)


def core_at(
    state: State, world: World, clock: Now | Callable[[], Now] = ONE_SECOND_IN, **more: Any
) -> Core:
    return Core(
        inbox=Inbox(),
        rules=RULES,
        state=state,
        ports=ports(world),
        clock=clock if callable(clock) else lambda: clock,
        **more,
    )


def waiting() -> State:
    return run(State(), grant(mode="in_home"), rules=RULES)[0]


def test_an_at_door_asks_the_camera_and_nothing_else() -> None:
    world = World()
    core = core_at(waiting(), world)
    core.handle(command("at_door"))
    assert world.journal == [("effect", ProveCamera(1, at(1).mono))]


def test_the_unlock_comes_only_after_its_record() -> None:
    world = World()
    core = core_at(run(waiting(), command("at_door"), rules=RULES, now=at(1))[0], world)
    core.handle(proof(t=1))
    assert world.journal == [
        ("commit", "at_door-1", ["delivery.unlocked"]),
        ("drive", "unlocked"),
        ("effect", Sound(Tune.UNLOCKED)),
        ("effect", Watch(True)),
        # what the lock then reads is the machine's next input, at once
        ("commit", None, ["lock.changed"]),
        ("effect", Indicate(Led.ON, door_alarm=False)),
    ]
    assert core.state.lock_target == "unlocked"
    assert world.states[-1]["delivery"]["phase"] == "unlocked"


def test_an_unlock_whose_record_fails_never_happens() -> None:
    world = World()
    core = core_at(run(waiting(), command("at_door"), rules=RULES, now=at(1))[0], world)
    world.failing = True
    core.handle(proof(t=1))
    assert not [entry for entry in world.journal if entry[0] == "drive"]
    assert core.state.lock_target == "locked" and core.state.unlock_pending is None
    world.failing = False
    core.handle(command("at_door", jti="a-2"))  # the courier tries again once there is room
    assert world.journal[-1] == ("effect", ProveCamera(2, at(1).mono))


def test_a_full_disk_is_logged_in_lines_that_say_what_to_do(caplog) -> None:
    """The unlock's record and the refusal's after it both fail: a line each, no traceback."""
    world = World()
    core = core_at(run(waiting(), command("at_door"), rules=RULES, now=at(1))[0], world)
    world.failing = True
    core.handle(proof(t=1))
    said = [r for r in caplog.records if "event=record_not_written" in r.getMessage()]
    assert said and not any(r.exc_info for r in said)  # the world's failure: no traceback
    for record in said:
        assert 'error="[Errno 28] No space left on device"' in record.getMessage()
        assert "fix=\"free space on the data dir's disk" in record.getMessage()
        assert "no pass opens the door" in record.getMessage()


def cancelled_on_a_full_disk(world: World) -> Core:
    """An unlocked in-home delivery, cancelled while the disk takes nothing."""
    unlocked = run(
        waiting(), command("at_door"), proof(), LockSensed(LockReading.UNLOCKED), rules=RULES
    )[0]
    core = core_at(unlocked, world)
    world.failing = True
    core.handle(command("cancel"))
    return core


def commits(world: World) -> list[Any]:
    return [entry for entry in world.journal if entry[0] == "commit"]


def test_a_relock_goes_before_the_disk_and_stands_when_the_disk_fails() -> None:
    world = World()
    core = cancelled_on_a_full_disk(world)
    assert world.journal[0] == ("drive", "locked")
    assert core.state.lock_target == "locked"
    world.failing = False
    core.handle(LockSensed(LockReading.LOCKED))
    assert commits(world)[-1] == (
        "commit",
        None,
        ["delivery.locked", "lock.changed", "delivery.completed"],
    )


def test_the_outcome_a_full_disk_kept_from_the_record_is_written_once_there_is_room() -> None:
    # Before: the door relocked but the completion was lost, and after space came back (and a
    # restart) the delivery was reported interrupted although it was delivered.
    world = World()
    core = cancelled_on_a_full_disk(world)
    core.handle(LockSensed(LockReading.LOCKED))  # relocked: completed, but not on disk
    assert core.state.deliveries == () and not commits(world)
    world.failing = False
    core.handle(Tick())  # the first record the disk takes carries what was owed, in order
    assert commits(world) == [
        ("commit", None, ["delivery.locked", "lock.changed", "delivery.completed"])
    ]
    core.handle(Tick())
    assert len(commits(world)) == 1  # owed once, not again


def test_a_relay_that_cannot_be_driven_ends_in_a_lock_fault_retried_on_a_backoff(caplog) -> None:
    """Not a tight loop of the same failing step: the step stands, the verify deadline says
    `alarm.lock_fault`, and the lock is re-driven a second, then two, later."""
    world = World()
    unlocked = run(
        waiting(), command("at_door"), proof(), LockSensed(LockReading.UNLOCKED), rules=RULES
    )[0]
    now = [at(1)]
    core = core_at(unlocked, world, clock=lambda: now[0])
    world.relay_broken = True
    core.handle(command("cancel"))
    assert [j for j in world.journal if j[0] == "commit"] == [("commit", "cancel-1", [])]
    assert core.state.lock_target == "locked"
    for second in (1, 2, 3.9):  # before the verify deadline: nothing is driven again
        now[0] = at(second)
        core.handle(Tick())
    now[0] = at(1 + RULES.lock_verify_s)
    core.handle(Tick())
    assert [j for j in world.journal if j[0] == "commit"][-1] == (
        "commit",
        None,
        ["alarm.lock_fault", "lock.changed", "delivery.completed"],
    )
    for second in (4.5, 5, 6, 7, 8, 9):
        now[0] = at(second)
        core.handle(Tick())
    assert [j for j in world.journal if j[0] == "drive"] == [("drive", "locked")] * 3  # t=1, 5, 7
    failed = [r for r in caplog.records if "event=lock_drive_failed" in r.getMessage()]
    assert len(failed) == 3 and "target=locked" in failed[0].getMessage()
    assert 'fix="the door may still be unlocked' in failed[0].getMessage()


def past_unlock_timeout() -> tuple[State, Now]:
    """Unlocked, the door never opened, and the unlock timeout is due: a relock is owed."""
    unlocked = run(
        waiting(), command("at_door"), proof(), LockSensed(LockReading.UNLOCKED), rules=RULES
    )[0]
    return unlocked, at(1 + RULES.unlock_timeout_s + 1)


def test_housekeeping_that_fails_does_not_hold_back_a_relock(caplog) -> None:
    world = World()
    state, now = past_unlock_timeout()
    core = core_at(state, world, now, on_tick=lambda state, now: 1 / 0)
    core.handle(Tick())
    assert world.journal[0] == ("drive", "locked")
    assert any("event=housekeeping_failed" in r.getMessage() for r in caplog.records)


def test_a_deadline_whose_step_fails_does_not_starve_the_queue(monkeypatch) -> None:
    """A bug in a due deadline's step: retried once a second, and meanwhile what is queued
    (here the stop) is still taken, instead of the same failing Tick in a tight loop."""
    world = World()
    core = core_at(waiting(), world, clock=at(3600 + 10))  # the grant's expiry is due
    failing_deadlines(monkeypatch)
    core.stop()  # queued before the loop starts: it must still be reached
    loop = threading.Thread(target=core.run, daemon=True)
    loop.start()
    loop.join(timeout=10)
    assert not loop.is_alive(), "the failing deadline starved the queue"


def test_outward_actions_follow_the_record() -> None:
    world = World()
    core = core_at(run(State(), grant(), rules=RULES)[0], world)
    core.handle(command("done"))
    kinds = [entry[0] for entry in world.journal]
    assert kinds == ["commit", "effect"] and isinstance(world.journal[1][1], Capture)


def test_the_state_is_published_only_when_it_changed() -> None:
    world = World()
    core = core_at(State(), world)
    core.handle(LockSensed(LockReading.LOCKED))
    core.handle(LockSensed(LockReading.LOCKED))
    assert len(world.states) == 1
    core.handle(LockSensed(LockReading.UNLOCKED))  # a key turned by hand
    assert [s["lock"] for s in world.states] == ["locked", "unlocked"]


def failing_deadlines(monkeypatch) -> None:
    """A bug in every Tick's step; every other input is stepped as usual."""
    real_step = machine.step

    def step(state: State, event: Any, now: Now, rules: Rules) -> Any:
        if isinstance(event, Tick):
            raise RuntimeError("a bug in the deadline's step")
        return real_step(state, event, now, rules)

    monkeypatch.setattr(machine, "step", step)


def test_a_deadline_that_cannot_be_decided_drives_the_lock_locked_and_says_so_once(
    monkeypatch, caplog
) -> None:
    """The relock owed by the unlock timeout cannot be decided (a bug): the lock is driven
    locked anyway, once, and the journal has the traceback and the fix once, then a reminder
    a minute, not a line a second."""
    failing_deadlines(monkeypatch)
    world = World()
    state, now = past_unlock_timeout()
    clock = [now]
    core = core_at(state, world, clock=lambda: clock[0])
    for second in (0, 1, 2, 30, 61):
        clock[0] = Now(now.wall + second, now.mono + second)
        core.take(Tick())
        with contextlib.suppress(queue.Empty):  # the lock's reading, once driven
            core.take(core.inbox.get(timeout=0))
    assert world.journal.count(("drive", "locked")) == 1
    assert core.state.lock == "locked"
    faults = [r.getMessage() for r in caplog.records if "event=deadline_" in r.getMessage()]
    assert len(faults) == 2 and "event=deadline_fault" in faults[0], faults
    assert 'fix="this is a bug in doorstep: restart it' in faults[0]
    assert "event=deadline_still_faulty" in faults[1] and "failures=5" in faults[1]
    assert [
        r.exc_info is not None for r in caplog.records if "event=deadline_" in r.getMessage()
    ] == [True, True]


def test_a_failing_deadline_never_throws_the_bolt_into_an_open_door(monkeypatch) -> None:
    """Locked only once the door reads closed: a bolt out would keep the door from closing."""
    failing_deadlines(monkeypatch)
    world = World()
    state, now = past_unlock_timeout()
    core = core_at(replace(state, door_open=True), world, clock=lambda: now)
    core.take(Tick())
    assert ("drive", "locked") not in world.journal
    core.take(DoorMoved(False))
    core.take(Tick())
    assert ("drive", "locked") in world.journal


def test_an_unlock_during_a_deadline_fault_is_locked_again(monkeypatch) -> None:
    """While every deadline fails, the lock may still come to read unlocked (an unlock, a hand
    on the bolt): it is driven locked again, as the relock timers cannot be relied on."""
    failing_deadlines(monkeypatch)
    world = World()
    state, now = past_unlock_timeout()
    core = core_at(state, world, clock=lambda: now)

    def settle() -> None:
        with contextlib.suppress(queue.Empty):
            core.take(core.inbox.get(timeout=0))

    core.take(Tick())
    settle()
    core.take(Tick())  # the lock reads locked
    core.take(LockSensed(LockReading.UNLOCKED))
    core.take(Tick())
    assert [j for j in world.journal if j[0] == "drive"] == [("drive", "locked")] * 2


def test_housekeeping_runs_every_second_however_busy_the_queue() -> None:
    """A flood keeps the queue full: the Tick (and the housekeeping on it: the clock, the
    outbox's quota, what the inbox dropped) still comes once a second of the clock."""
    world = World()
    ticks: list[float] = []
    times = (at(1 + n * 0.1) for n in itertools.count())  # each look at the clock: 0.1 s on
    core = core_at(
        State(), world, lambda: next(times), on_tick=lambda state, now: ticks.append(now.mono) or []
    )
    for _ in range(200):
        core.inbox.put(CameraHealth(True))  # as busy as a flood, and changes nothing
    core.stop()
    core.run()
    assert len(ticks) >= 5, ticks
    assert all(later - earlier <= 1.5 for earlier, later in itertools.pairwise(ticks)), ticks


def test_a_due_relock_is_driven_before_the_housekeeping_runs() -> None:
    """The hourly compaction (and the reserve's first write) run on the Tick: after the relock,
    never in front of it."""
    world = World()
    state, now = past_unlock_timeout()
    seen: list[list] = []
    core = core_at(
        state, world, now, on_tick=lambda state, now: seen.append(list(world.journal)) or []
    )
    core.handle(Tick())
    assert seen and ("drive", "locked") in seen[0]


def test_housekeeping_still_runs_while_every_deadline_fails(monkeypatch) -> None:
    failing_deadlines(monkeypatch)
    world = World()
    state, now = past_unlock_timeout()
    ran: list[Now] = []
    core = core_at(state, world, now, on_tick=lambda state, now: ran.append(now) or [])
    core.take(Tick())
    assert ran == [now]
