"""The indicator LED and the buzzer (both optional), driven from a thread of their own: the
core only queues what to show, so a pattern never delays a relock (gpiozero stops a running
blink by joining its thread). Without the parts, nothing is queued at all."""

from __future__ import annotations

import logging
import queue
import threading

from gpiozero import LED, Buzzer

from edge.domain.model import Indicate, Led, Tune

log = logging.getLogger(__name__)

BLINK_FAST_S = 0.1
DOOR_ALARM_BEEP = (0.2, 0.3)  # on, off: until the door closes
TUNES = {  # on, off, count
    Tune.UNLOCKED: (0.1, 0.1, 2),
    Tune.RELOCKED: (0.8, 0.1, 1),
    Tune.REFUSED: (0.1, 0.1, 3),
}

_STOP = object()


class Signals:
    def __init__(self, led: LED | None, buzzer: Buzzer | None) -> None:
        self._led = led
        self._buzzer = buzzer
        self._door_alarm = False
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        if led is not None or buzzer is not None:
            self._thread = threading.Thread(target=self._run, name="signals", daemon=True)
            self._thread.start()

    def show(self, indicate: Indicate) -> None:
        if self._thread is not None:
            self._queue.put(indicate)

    def play(self, tune: Tune) -> None:
        if self._thread is not None and self._buzzer is not None:
            self._queue.put(tune)

    def close(self) -> None:
        """Stop the patterns (the parts themselves are closed with the other GPIO devices)."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                if isinstance(item, Indicate):
                    self._show(item)
                elif isinstance(item, Tune):
                    self._play(item)
            except Exception:  # a closed or broken part: the door works without it
                log.exception("event=signal_failed signal=%r", item)

    def _show(self, indicate: Indicate) -> None:
        if self._led is not None:
            if indicate.led is Led.BLINKING_FAST:
                self._led.blink(BLINK_FAST_S, BLINK_FAST_S, background=True)
            elif indicate.led is Led.ON:
                self._led.on()
            else:
                self._led.off()
        if self._buzzer is not None and indicate.door_alarm != self._door_alarm:
            self._door_alarm = indicate.door_alarm
            if indicate.door_alarm:
                self._buzzer.beep(*DOOR_ALARM_BEEP, background=True)
            else:
                self._buzzer.off()

    def _play(self, tune: Tune) -> None:
        if self._buzzer is not None and not self._door_alarm:  # the alarm is the louder news
            on, off, count = TUNES[tune]
            self._buzzer.beep(on, off, count, background=True)
