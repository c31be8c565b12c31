"""The thread skeleton of a worker that sends what the outbox holds (the pump, the photo
uploader): woken as soon as a row is added, stopped within five seconds."""

from __future__ import annotations

import threading

from edge.store.outbox import Outbox


class OutboxWorker:
    def __init__(self, outbox: Outbox, name: str) -> None:
        self._outbox = outbox
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        outbox.on_added(self._wake.set)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        raise NotImplementedError
