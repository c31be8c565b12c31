"""The JSON Schemas of the contract, generated from `payloads`, and a checker for messages.

`docs/contract/*.schema.json` are these schemas written out (`make contract`); a test keeps
them equal to what this module generates, and `Contract` validates with the generated ones, so
the committed files, the models and the checks are one thing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from pydantic import TypeAdapter

from edge.contract import payloads

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_URI = "https://doorstep.invalid/contract/"  # an identifier, never fetched

# name -> (what it describes, the model)
SCHEMAS: dict[str, tuple[str, Any]] = {
    "event": (
        "An event on {prefix}/{device_id}/events (docs/protocol.md §5), one branch per type.",
        payloads.Event,
    ),
    "state": ("The retained {prefix}/{device_id}/state (docs/protocol.md §4).", payloads.State),
    "pass-claims": (
        "The claims of a pass on {prefix}/{device_id}/cmd/{command}, a compact "
        "EdDSA JWT (docs/protocol.md §2).",
        payloads.PassClaims,
    ),
    "receipt": (
        "The payload of the signed receipt on {prefix}/{device_id}/receipts/"
        "{delivery_id}, a compact EdDSA JWS (docs/protocol.md §9).",
        payloads.Receipt,
    ),
    "last-delivery": (
        "The retained {prefix}/{device_id}/last_delivery (docs/protocol.md §8).",
        payloads.LastDelivery,
    ),
}


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema ``name`` as it is committed under docs/contract/."""
    description, model = SCHEMAS[name]
    generated = _tidy(TypeAdapter(model).json_schema(ref_template="#/$defs/{model}"))
    return {
        "$schema": DIALECT,
        "$id": f"{BASE_URI}{name}.schema.json",
        "title": f"doorstep {name}",
        "description": description,
        **{k: v for k, v in generated.items() if k not in ("title", "description")},
    }


def _tidy(node: Any) -> Any:
    """Drop what pydantic adds that says nothing: the titles it makes from field names, and
    `default: null` on a field that is absent rather than null."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    tidy = {
        key: _tidy(value) for key, value in node.items() if not (key == "default" and value is None)
    }
    if isinstance(tidy.get("properties"), dict):
        tidy["properties"] = {
            name: {k: v for k, v in prop.items() if k != "title"}
            for name, prop in tidy["properties"].items()
        }
    return tidy


def render(name: str) -> str:
    return json.dumps(schema(name), indent=2, sort_keys=False) + "\n"


def _explain(error: ValidationError, key: str | None) -> list[ValidationError]:
    """A payload that matches no branch of a oneOf: the errors of the branch its discriminator
    (`type`, `cmd`) chose, rather than "not valid under any of the given schemas"."""
    if not error.context or key is None:
        return [error]
    branches: dict[Any, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        branches[sub.schema_path[0]].append(sub)
    chosen = [
        subs
        for subs in branches.values()
        if not any(list(sub.relative_path)[:1] == [key] for sub in subs)
    ]
    if len(chosen) != 1:
        return [error]
    return [leaf for sub in chosen[0] for leaf in _explain(sub, None)]


class ContractError(ValueError):
    """A message that does not match the contract; the message says where and why."""


class Contract:
    """Checks payloads against the schemas: ``check("event", payload)`` raises ContractError."""

    def __init__(self) -> None:
        schemas = {name: schema(name) for name in SCHEMAS}
        self._validators = {name: Draft202012Validator(s) for name, s in schemas.items()}
        self._keys: dict[str, str | None] = {
            name: s.get("discriminator", {}).get("propertyName") for name, s in schemas.items()
        }

    def errors(self, name: str, payload: Any) -> list[str]:
        found = [
            leaf
            for error in self._validators[name].iter_errors(payload)
            for leaf in _explain(error, self._keys[name])
        ]
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
            for error in sorted(found, key=lambda e: list(map(str, e.absolute_path)))
        ]

    def check(self, name: str, payload: Any) -> None:
        errors = self.errors(name, payload)
        if errors:
            raise ContractError(f"{name} breaks the contract: {'; '.join(errors)}: {payload!r}")
