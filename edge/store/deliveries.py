"""The active deliveries, saved on every change so a restart picks them up where they were."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

from edge.domain.model import Delivery, Outcome, Phase
from edge.domain.passes import Courier
from edge.store.files import write_atomic

log = logging.getLogger(__name__)


def _delivery(row: dict) -> Delivery:
    outcome = row.get("outcome")
    return Delivery(**{**row, "courier": Courier(**row["courier"]), "phase": Phase(row["phase"]),
                       "photos": tuple(row["photos"]),
                       "outcome": None if outcome is None else Outcome(outcome)})


class DeliveryJournal:
    def __init__(self, path: Path) -> None:
        self._path = path

    def save(self, deliveries: tuple[Delivery, ...]) -> None:
        body = [asdict(d) for d in deliveries]
        write_atomic(self._path, json.dumps(body, indent=1).encode())

    def load(self) -> tuple[Delivery, ...]:
        """The saved deliveries; an unreadable journal is logged and treated as empty."""
        try:
            rows = json.loads(self._path.read_text(encoding="utf-8"))
            return tuple(_delivery(row) for row in rows)
        except FileNotFoundError:
            return ()
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.error("event=journal_unreadable path=%s error=%s", self._path, exc)
            return ()
