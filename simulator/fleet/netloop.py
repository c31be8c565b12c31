"""One thread for many paho clients: their sockets in one selector (epoll), paho's external
loop API (loop_read, loop_write when it asks to write, loop_misc once a second) instead of a
thread per client, and a reconnect for a client the broker dropped."""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

MISC_EVERY_S = 1.0
RECONNECT_AFTER_S = 2.0


class NetLoop:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._clients: list[mqtt.Client] = []
        self._dropped: dict[mqtt.Client, float] = {}  # client -> when to reconnect
        self._next_misc = 0.0
        self.closing = False

    def add(self, client: mqtt.Client, on_disconnect: Callable[[], None] = lambda: None) -> None:
        """Take ``client`` into the loop; call before its connect()."""
        client.on_socket_open = self._opened
        client.on_socket_close = self._closed
        client.on_socket_register_write = self._want_write
        client.on_socket_unregister_write = self._written

        def disconnected(client: mqtt.Client, *_: Any) -> None:
            if not self.closing:
                self._dropped[client] = time.monotonic() + RECONNECT_AFTER_S
                on_disconnect()

        client.on_disconnect = disconnected
        self._clients.append(client)

    def poll(self, timeout: float) -> None:
        for key, events in self._selector.select(timeout):
            client: mqtt.Client = key.data
            if events & selectors.EVENT_READ:
                client.loop_read()
                sock = client.socket()
                while sock is not None and getattr(sock, "pending", lambda: 0)():
                    client.loop_read()  # TLS: bytes already decrypted wait in its buffer
            if events & selectors.EVENT_WRITE:
                client.loop_write()
        now = time.monotonic()
        if now >= self._next_misc:
            self._next_misc = now + MISC_EVERY_S
            for client in self._clients:
                client.loop_misc()
            self._reconnect(now)

    def _reconnect(self, now: float) -> None:
        for client, when in list(self._dropped.items()):
            if when <= now:
                del self._dropped[client]
                try:
                    client.reconnect()
                except OSError as exc:
                    log.warning("event=fleet_reconnect_failed error=%s", exc)
                    self._dropped[client] = now + RECONNECT_AFTER_S

    def close(self) -> None:
        self.closing = True
        for client in self._clients:
            client.disconnect()
        deadline = time.monotonic() + 0.5
        while self._selector.get_map() and time.monotonic() < deadline:
            self.poll(0.05)  # let the DISCONNECT packets go out
        self._selector.close()

    def _opened(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        with contextlib.suppress(OSError):  # small packets go at once (NOTES: delayed ACKs)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._selector.register(sock, selectors.EVENT_READ, client)

    def _closed(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):  # never registered, or gone
            self._selector.unregister(sock)

    def _want_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)

    def _written(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):  # already closed
            self._selector.modify(sock, selectors.EVENT_READ, client)
