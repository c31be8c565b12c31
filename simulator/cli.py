"""`doorstep-sim keygen | send | demo | scenario | fleet | verify-receipt`: play the cloud and the
courier against a doorstep, run named situations, load a broker with a fleet, and check what a
device signed."""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.cloud import generate_keypair, load_private_key, mint

if TYPE_CHECKING:
    from simulator.fleet.run import FleetOptions

COMMANDS = ("arriving", "at_door", "done", "cancel")


def _send(args: argparse.Namespace) -> int:
    import paho.mqtt.client as mqtt  # noqa: PLC0415
    from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

    key = load_private_key(args.key)
    extra = {"lifetime_s": args.lifetime} if args.lifetime else {}
    token = mint(
        key,
        args.cmd,
        device_id=args.device_id,
        delivery_id=args.delivery_id,
        mode=args.mode,
        confidential=args.confidential or None,
        **extra,
    )
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        protocol=mqtt.MQTTv5 if args.protocol == "5" else mqtt.MQTTv311,
    )
    client.connect(args.host, args.port)
    client.loop_start()
    topic = f"{args.prefix}/{args.device_id}/cmd/{args.cmd}"
    client.publish(topic, token, qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    print(f"sent {args.cmd} to {topic}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from simulator.receipts import verify_receipts  # noqa: PLC0415

    verdict = verify_receipts(
        args.key.read_bytes(),
        [path.read_text(encoding="ascii") for path in args.receipts],
        args.photos,
        last_number=args.last,
        from_first=args.from_first,
    )
    for receipt in verdict.receipts:
        print(
            f"{receipt['delivery_id']}: {receipt['outcome']}, {len(receipt['events'])} events, "
            f"{len(receipt['photos'])} photos, issued {receipt['issued_at']}"
        )
    for problem in verdict.problems:
        print(f"PROBLEM {problem}")
    local = (
        (
            f", {len(verdict.photos_local)} kept on the device (confidential: only their "
            "hashes are on record)"
        )
        if verdict.photos_local
        else ""
    )
    print(
        f"{'ok' if verdict.ok else 'NOT OK'}: {len(args.receipts)} receipts, "
        f"{verdict.photos_checked} photos checked{local}"
    )
    return 0 if verdict.ok else 1


def _scenario(args: argparse.Namespace) -> int:
    from datetime import datetime  # noqa: PLC0415

    from simulator.play import play  # noqa: PLC0415
    from simulator.scenario import load, names  # noqa: PLC0415

    if args.action == "list":
        for name in names():
            print(f"{name:<26} {load(name).summary}")
        return 0
    chosen = names() if args.all else args.names
    if not chosen:
        print("name a scenario (doorstep-sim scenario list), or --all", file=sys.stderr)
        return 2
    try:
        scenarios = [load(name) for name in chosen]
    except ValueError as error:
        print(f"doorstep-sim: {error}", file=sys.stderr)
        return 2
    base = args.report or Path("scenario-output") / datetime.now().strftime("%Y%m%d-%H%M%S")
    failed = []
    for scenario in scenarios:
        out = base if len(scenarios) == 1 else base / scenario.name
        verdict = play(scenario, out, args.broker, args.pace)
        print(f"report: {verdict.report}\n", flush=True)
        if not verdict.passed:
            failed.append(scenario.name)
    if len(scenarios) > 1:
        print(
            f"{len(scenarios) - len(failed)} passed, {len(failed)} failed"
            + (f": {', '.join(failed)}" if failed else "")
        )
    return 1 if failed else 0


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def _on_a_cluster(options: FleetOptions, cleanup: ExitStack) -> FleetOptions:
    """A two-node RabbitMQ cluster of our own: the devices spread over both nodes, the cloud
    on the first, MQTT 3.1.1 (all RabbitMQ 3.10 speaks)."""
    import dataclasses  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from simulator.rabbitmq import RabbitCluster  # noqa: PLC0415

    folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="doorstep-rmq-")))
    print("starting a two-node RabbitMQ cluster ...", file=sys.stderr, flush=True)
    cluster = RabbitCluster(folder)
    cleanup.callback(cluster.stop)
    cluster.start()
    host, port = cluster.addresses[0]
    return dataclasses.replace(
        options, host=host, port=port, protocol="3.1.1", device_hosts=tuple(cluster.addresses)
    )


def _fleet(args: argparse.Namespace) -> int:
    from datetime import datetime  # noqa: PLC0415

    from simulator.fleet.run import FleetOptions, run_fleet  # noqa: PLC0415

    options = FleetOptions(
        devices=args.devices,
        rate=args.rate,
        duration=args.duration,
        host=args.host,
        port=args.port,
        ca_file=args.ca,
        cert_file=args.cert,
        key_file=args.key_file,
        protocol=args.protocol,
        prefix=args.prefix,
        device_hosts=tuple(args.devices_on or ()),
        check_contract=args.check_contract,
    )
    out = args.json or Path("fleet-output") / f"fleet-{datetime.now():%Y%m%d-%H%M%S}.json"
    try:
        with ExitStack() as cleanup:
            if args.rabbitmq_cluster:
                options = _on_a_cluster(options, cleanup)
            result = run_fleet(options, json_out=out)
    except (RuntimeError, OSError) as error:
        print(f"doorstep-sim fleet: {error}", file=sys.stderr)
        return 1
    print(result.table())
    print(f"  json             {out}")
    print(result.line())
    return 1 if result.lost or result.failed or result.timed_out or result.breaches else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="doorstep-sim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    keygen = commands.add_parser("keygen", help="write an Ed25519 dev key pair (PEM)")
    keygen.add_argument("--out", type=Path, default=Path("keys"))

    send = commands.add_parser("send", help="mint a signed pass and publish it")
    send.add_argument("cmd", choices=COMMANDS)
    send.add_argument("--key", type=Path, required=True, help="the cloud's private key (PEM)")
    send.add_argument("--device-id", required=True)
    send.add_argument("--delivery-id", required=True)
    send.add_argument("--mode", choices=("doorstep", "in_home"), default="doorstep")
    send.add_argument("--confidential", action="store_true")
    send.add_argument("--lifetime", type=float, help="seconds from iat to exp")
    send.add_argument("--host", default="127.0.0.1")
    send.add_argument("--port", type=int, default=1883)
    send.add_argument("--prefix", default="doorstep")
    send.add_argument("--protocol", choices=("5", "3.1.1"), default="3.1.1")

    demo = commands.add_parser("demo", help="run a full simulated delivery and write a report")
    demo.add_argument("--out", type=Path, help="output folder [demo-output/<time>]")
    demo.add_argument("--pace", type=float, default=0.6, help="seconds between courier steps")
    demo.add_argument(
        "--broker", metavar="HOST:PORT", help="use this MQTT broker instead of the embedded one"
    )

    scenario = commands.add_parser("scenario", help="list or run named situations end to end")
    scenario.add_argument("action", choices=("list", "run"))
    scenario.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="shipped scenario names, or paths of scenario TOML files",
    )
    scenario.add_argument("--all", action="store_true", help="run every shipped scenario")
    scenario.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="where the report goes (with several: DIR/<name>) [scenario-output/<time>]",
    )
    scenario.add_argument(
        "--broker",
        metavar="HOST:PORT",
        help="use this broker (a broker_outage needs the runner's own)",
    )
    scenario.add_argument(
        "--pace", type=float, default=0.0, help="seconds between steps, to follow along"
    )

    fleet = commands.add_parser("fleet", help="many simulated doorbells against one broker")
    fleet.add_argument("--devices", type=int, default=100)
    fleet.add_argument("--rate", type=float, default=10.0, help="deliveries started per second")
    fleet.add_argument(
        "--duration",
        type=float,
        default=30.0,
        help="seconds of starting deliveries; then the fleet drains",
    )
    fleet.add_argument("--host", help="the broker [a local mosquitto of its own]")
    fleet.add_argument("--port", type=int, default=1883)
    fleet.add_argument(
        "--devices-on",
        type=_address,
        action="append",
        metavar="HOST:PORT",
        help="spread the devices over these brokers (a cluster's nodes); the cloud stays on --host",
    )
    fleet.add_argument("--protocol", choices=("5", "3.1.1"), default="5")
    fleet.add_argument("--prefix", default="doorstep")
    fleet.add_argument("--ca", type=Path, help="TLS: the broker's CA certificate")
    fleet.add_argument("--cert", type=Path, help="TLS: a client certificate (mutual TLS)")
    fleet.add_argument("--key-file", type=Path, help="TLS: the client certificate's key")
    fleet.add_argument(
        "--rabbitmq-cluster",
        action="store_true",
        help="start a two-node RabbitMQ cluster here and spread the fleet over it",
    )
    fleet.add_argument(
        "--check-contract",
        action="store_true",
        help="check every event against docs/contract/ (slower)",
    )
    fleet.add_argument(
        "--json", type=Path, help="where the result goes [fleet-output/fleet-<time>.json]"
    )

    verify = commands.add_parser(
        "verify-receipt", help="check delivery receipts: signature, chain and photo hashes"
    )
    verify.add_argument(
        "--key",
        type=Path,
        required=True,
        help="the device's public key (PEM, from its retained device_key)",
    )
    verify.add_argument("receipts", type=Path, nargs="+", help="receipt files, oldest first")
    verify.add_argument("--photos", type=Path, help="a folder of <photo_id>.jpg to check")
    verify.add_argument(
        "--from-first",
        action="store_true",
        help="the receipts start at the device's first: number 1",
    )
    verify.add_argument(
        "--last",
        type=int,
        metavar="N",
        help="the device's latest receipt number (`receipt` in its retained "
        "last_delivery): fewer means the last ones are missing",
    )

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    if args.command == "keygen":
        private, public = generate_keypair(args.out)
        print(
            f"private key (give to the cloud only): {private}\n"
            f"public key (for trusted_keys): {public}"
        )
        return 0
    if args.command == "send":
        return _send(args)
    if args.command == "verify-receipt":
        return _verify(args)
    if args.command == "scenario":
        return _scenario(args)
    if args.command == "fleet":
        return _fleet(args)
    from simulator.demo import run_demo  # noqa: PLC0415

    return run_demo(args.out, args.pace, args.broker)


if __name__ == "__main__":
    sys.exit(main())
