"""The Effects port: the outward actions of a Transition (photos to take, clips to film, a
fresh frame to prove the camera is watching, an owner's code to check, what the LED and buzzer
signal), carried out by the parts that can, off the core thread. The lock and the durable
record are not here: the core drives the one and commits the other, in a fixed order."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol, assert_never

from edge.crypto.owner_code import check_code
from edge.domain.model import (
    Capture,
    CheckCode,
    CodeChecked,
    Film,
    Indicate,
    Input,
    Outward,
    ProveCamera,
    Sound,
    StopFilm,
    Watch,
)
from edge.hardware.signals import Signals
from edge.workers.capture import CaptureWorker
from edge.workers.recorder import Recorder

log = logging.getLogger(__name__)


class Effects(Protocol):
    def carry_out(self, action: Outward) -> None: ...


class DeviceEffects:
    def __init__(
        self,
        capture: CaptureWorker,
        signals: Signals,
        *,
        code_hash: str | None,
        submit: Callable[[Input], None],
        recorder: Recorder | None = None,
    ) -> None:
        self._capture = capture
        self._recorder = recorder  # None: no clips and no live view
        self._signals = signals
        self._code_hash = code_hash
        self._submit = submit

    def carry_out(self, action: Outward) -> None:
        match action:
            case Capture(request):
                self._capture.request(request)
            case ProveCamera():
                self._capture.prove(action)
            case CheckCode(check_id, code):
                threading.Thread(
                    target=self._check, args=(check_id, code), name="owner-code", daemon=True
                ).start()
            case Indicate():
                self._signals.show(action)
            case Sound(tune):
                self._signals.play(tune)
            case Watch(close):
                self._capture.watch(close)
            case Film() | StopFilm():
                if self._recorder is not None:
                    self._recorder.film(action)
            case _:
                assert_never(action)

    def _check(self, check_id: int, code: str) -> None:
        """scrypt is slow on purpose: never on the core thread. Always answered: a check
        that never came back would leave every later owner unlock `busy`."""
        ok = False
        try:
            ok = self._code_hash is not None and check_code(code, self._code_hash)
        except Exception:  # a bug, or no memory for scrypt: the code counts as not matching
            log.exception("event=owner_code_check_failed")
        finally:
            self._submit(CodeChecked(check_id, ok))
