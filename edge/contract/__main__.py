"""`python -m edge.contract [--check] [DIR]`: write the contract's files into DIR (default
docs/contract) and the lifecycle diagram into DIR/../protocol.md, or with --check say which
ones differ from what the code generates."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.contract import asyncapi, lifecycle, schemas


def files() -> dict[str, str]:
    generated = {f"{name}.schema.json": schemas.render(name) for name in schemas.SCHEMAS}
    generated["asyncapi.json"] = asyncapi.render()
    return generated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge.contract", description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=Path("docs/contract"))
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 when a file is missing or out of date",
    )
    args = parser.parse_args(argv)
    stale = [
        name
        for name, text in files().items()
        if not (args.folder / name).is_file()
        or (args.folder / name).read_text(encoding="utf-8") != text
    ]
    protocol = args.folder.parent / "protocol.md"  # its lifecycle diagram
    document = protocol.read_text(encoding="utf-8")
    if lifecycle.updated(document) != document:
        stale.append(f"../{protocol.name}")
    if args.check:
        for name in stale:
            print(f"{args.folder / name} is out of date: run make contract", file=sys.stderr)
        return 1 if stale else 0
    args.folder.mkdir(parents=True, exist_ok=True)
    for name, text in files().items():
        (args.folder / name).write_text(text, encoding="utf-8")
    protocol.write_text(lifecycle.updated(document), encoding="utf-8")
    print(f"wrote {len(files())} files to {args.folder} ({len(stale)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
