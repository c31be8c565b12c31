"""The live view: an RTSP stream of the doorstep for Home Assistant (its go2rtc, or a generic
camera), served by GStreamer's RTSP server (gst-rtsp-server, from the distribution) rather than
a server of our own.

It re-sends the recorder's own H.264 packets: no second encoder runs for it, and the recorder
encodes for it only while someone watches (or while clips are on, for their pre-roll). A new
viewer starts at the next keyframe (at most a second away). A login is always asked (HTTP
Digest over RTSP, the credentials from `[live]`; there is no default): a request without it,
or with a wrong one, is answered 401 and never sees a frame."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from edge.hardware.h264 import Packet

log = logging.getLogger(__name__)

LAUNCH = (
    "( appsrc name=feed is-live=true do-timestamp=true format=time "
    "caps=video/x-h264,stream-format=byte-stream,alignment=au "
    "! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=1 )"
)
ROLE = "viewer"
GSTREAMER_FIX = (
    "install GStreamer's RTSP server: apt install python3-gi gir1.2-gst-rtsp-server-1.0 "
    "gstreamer1.0-plugins-good gstreamer1.0-plugins-bad, or set [live] enabled = false"
)


@dataclass(frozen=True)
class LiveSettings:
    bind: str
    port: int
    path: str
    username: str
    password: str


def live_view(settings: LiveSettings) -> LiveView | None:
    """The live view, or None (said in the log) when GStreamer's RTSP server is missing: the
    door goes on working without it."""
    try:
        return LiveView(settings)
    except (ImportError, ValueError) as exc:  # no gi, or no GstRtspServer typelib
        log.error('event=live_view_unavailable error="%s" fix="%s"', exc, GSTREAMER_FIX)
        return None


class LiveView:
    def __init__(self, settings: LiveSettings) -> None:
        import gi  # noqa: PLC0415 - only a device with a live view needs GStreamer

        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtsp", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: PLC0415

        Gst.init(None)
        self._gst, self._glib = Gst, GLib
        self.settings = settings
        self._feeds: dict[int, Any] = {}  # one appsrc per shared media (all viewers share one)
        self._waiting_key: set[int] = set()  # feeds that start at the next keyframe
        self._lock = threading.Lock()
        self._context = GLib.MainContext.new()
        self._loop = GLib.MainLoop.new(self._context, False)
        self._server = GstRtspServer.RTSPServer()
        self._server.set_address(settings.bind)
        self._server.set_service(str(settings.port))
        self._server.set_auth(self._auth(GstRtspServer, GstRtsp, settings))
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(LAUNCH)
        factory.set_shared(True)
        factory.add_role_from_structure(
            Gst.Structure.new_from_string(
                f"{ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
            )
        )
        factory.connect("media-configure", self._configured)
        self._server.get_mount_points().add_factory(f"/{settings.path}", factory)
        self._thread = threading.Thread(target=self._run, name="live-view", daemon=True)
        self._off = False  # could not listen: said once, not a part that died

    @staticmethod
    def _auth(server: Any, rtsp: Any, settings: LiveSettings) -> Any:
        """Digest only: the password itself never crosses the network, not even encoded."""
        auth = server.RTSPAuth()
        auth.set_supported_methods(rtsp.RTSPAuthMethod.DIGEST)
        token = server.RTSPToken()
        token.set_string("media.factory.role", ROLE)
        auth.add_digest(settings.username, settings.password, token)
        return auth

    def start(self) -> None:
        """Listen now. A port that is taken is said at once, and the door goes on without a
        live view (no restart would free the port)."""
        try:
            if not self._server.attach(self._context):  # 0: no socket (GStreamer warns why)
                raise OSError("the address is taken, or not this host's")
        except (self._glib.Error, OSError) as exc:
            log.error(
                'event=live_view_not_listening address=%s:%s error="%s" fix="%s"',
                self.settings.bind,
                self.settings.port,
                exc,
                "free that port, or change [live] port or bind",
            )
            self._off = True
            return
        self._thread.start()
        log.info(
            "event=live_view_listening url=rtsp://%s:%s/%s",
            self.settings.bind,
            self.settings.port,
            self.settings.path,
        )

    def alive(self) -> bool:
        return self._off or self._thread.is_alive()

    def stop(self) -> None:
        self._loop.quit()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def watching(self) -> bool:
        """Is anyone watching? (The recorder encodes for the live view only then.)"""
        with self._lock:
            return bool(self._feeds)

    def feed(self, packet: Packet) -> None:
        """One encoded frame from the recorder, to every viewer (from a keyframe on)."""
        with self._lock:
            if packet.keyframe:
                self._waiting_key.clear()
            feeds = [src for key, src in self._feeds.items() if key not in self._waiting_key]
        for source in feeds:
            source.emit("push-buffer", self._gst.Buffer.new_wrapped(packet.data))

    def _run(self) -> None:
        self._context.push_thread_default()
        try:
            self._loop.run()
        finally:
            self._context.pop_thread_default()

    def _configured(self, factory: Any, media: Any) -> None:
        source = media.get_element().get_child_by_name("feed")
        key = id(media)
        with self._lock:
            self._feeds[key] = source
            self._waiting_key.add(key)
        media.connect("unprepared", lambda *_: self._gone(key))
        log.info("event=live_view_watched")

    def _gone(self, key: int) -> None:
        with self._lock:
            self._feeds.pop(key, None)
            self._waiting_key.discard(key)
        log.info("event=live_view_left")
