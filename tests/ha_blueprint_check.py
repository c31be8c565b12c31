"""Run by Home Assistant's own Python (.venv-ha): load a blueprint file the way Home Assistant
does (its YAML loader, with `!input`), validate it with the automation blueprint schema, fill
its inputs, and validate the automation that comes out. Prints `ok` and what it checked, or
fails with Home Assistant's own error."""

import asyncio
import sys
import tempfile

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA, PLATFORM_SCHEMA
from homeassistant.components.blueprint.models import Blueprint, BlueprintInputs
from homeassistant.core import HomeAssistant
from homeassistant.helpers import frame
from homeassistant.util.yaml import load_yaml


async def main() -> None:
    hass = HomeAssistant(tempfile.mkdtemp())
    frame.async_setup(hass)
    data = load_yaml(sys.argv[1])
    bp = Blueprint(data, expected_domain="automation", schema=AUTOMATION_BLUEPRINT_SCHEMA)
    chosen = {
        "doorbell": "event.porch_doorbell",
        "snapshot": "image.porch_image",
        "door_lock": "lock.porch_lock",
        "notify_device": "0123456789abcdef0123456789abcdef",
    }
    inputs = BlueprintInputs(bp, {"use_blueprint": {"path": sys.argv[1], "input": chosen}})
    inputs.validate()
    config = PLATFORM_SCHEMA(inputs.async_substitute())
    print("ok", bp.name, sorted(bp.inputs), len(config["actions"]))
    await hass.async_stop(force=True)


asyncio.run(main())
