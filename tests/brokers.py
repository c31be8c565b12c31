"""A real mosquitto per test session (simulator.mosquitto), and one with the shipped TLS
listener and ACL."""

from __future__ import annotations

from pathlib import Path

from simulator.mosquitto import Mosquitto
from tests.certs import Authority

__all__ = ["Mosquitto", "tls_broker"]

SHIPPED = Path(__file__).parents[1] / "firmware_config" / "mosquitto"


def tls_broker(
    folder: Path, ca: Authority, cert: Path, key: Path, acl_extra: str = ""
) -> Mosquitto:
    """mosquitto running the shipped TLS listener and ACL, with certificates made by a test;
    ``acl_extra`` is appended to the ACL (the owner blocks `doorstep broker-acl` prints)."""
    folder.mkdir(parents=True, exist_ok=True)
    acl = folder / "doorstep.acl"
    acl.write_text((SHIPPED / "doorstep.acl").read_text() + "\n" + acl_extra)
    text = (
        (SHIPPED / "doorstep-tls.conf")
        .read_text()
        .replace("listener 8883", "listener {port} 127.0.0.1")
        .replace("/etc/mosquitto/certs/ca.pem", str(ca.ca_file))
        .replace("/etc/mosquitto/certs/server.crt", str(cert))
        .replace("/etc/mosquitto/certs/server.key", str(key))
        .replace("/etc/mosquitto/doorstep.acl", str(acl))
    )
    return Mosquitto(folder, "user root\n" + text).start()
