"""A stand-in for systemd's notify socket: an AF_UNIX datagram socket that keeps what it got."""

from __future__ import annotations

import socket
import time
from pathlib import Path


class NotifySocket:
    """What systemd listens on: an AF_UNIX datagram socket, keeping every message it got."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.path = str(path)
        self.history: list[str] = []

    def next(self, timeout: float = 10) -> str:
        self.sock.settimeout(timeout)
        message = self.sock.recv(4096).decode()
        self.history.append(message)
        return message

    def lines(self) -> list[str]:
        return [line for message in self.history for line in message.splitlines()]

    def wait_for(self, line: str, timeout: float = 10) -> None:
        """Return once ``line`` has been received, now or earlier."""
        deadline = time.monotonic() + timeout
        while line not in self.lines():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {line!r} among {self.history}")
            self.next(remaining)

    def drain(self) -> None:
        self.sock.setblocking(False)
        try:
            while self.sock.recv(4096):
                pass
        except BlockingIOError:
            pass

    def silent_for(self, seconds: float, line: str) -> bool:
        """True when no message containing ``line`` arrives within ``seconds``."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                if line in self.next(remaining).splitlines():
                    return False
            except TimeoutError:
                return True
        return True
