"""The Effects port: the outward actions of a Transition (photos to take, a fresh frame to
prove the camera is watching), carried out by the parts that can. The lock and the durable
record are not here: the core drives the one and commits the other, in a fixed order."""

from __future__ import annotations

from typing import Protocol, assert_never

from edge.capture import CaptureWorker
from edge.domain.model import Capture, Outward, ProveCamera


class Effects(Protocol):
    def carry_out(self, action: Outward) -> None: ...


class DeviceEffects:
    def __init__(self, capture: CaptureWorker) -> None:
        self._capture = capture

    def carry_out(self, action: Outward) -> None:
        match action:
            case Capture(request):
                self._capture.request(request)
            case ProveCamera():
                self._capture.prove(action)
            case _:
                assert_never(action)
