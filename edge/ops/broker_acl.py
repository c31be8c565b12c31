"""The broker's ACL block for one household's owner principal (`doorstep broker-acl`).

Owner commands are not signed: the broker's ACL is all that protects them. So each device's
homeowner (usually that household's Home Assistant) gets a user of its own that reaches this
device's topics and no other's, where one shared login used to command every door on a broker.
mosquitto's `pattern` lines cannot express it (the owner's name is not the device's), hence a
generated `user` block, appended to the shipped ACL file.
"""

from __future__ import annotations

from edge.config import Config
from edge.contract.topics import Topics
from edge.transport.homeassistant import discovery_topic


def owner_user(device_id: str) -> str:
    """The default owner user name. The dot cannot occur in a device id, so no device pattern
    of the ACL (`doorstep/%u/...`) ever gives this user a device's rights."""
    return f"owner.{device_id}"


def owner_block(config: Config, user: str) -> str:
    """``user`` may command this device (owner/#) and read what a dashboard shows of it: its
    availability, state, events, last delivery, latest image and Home Assistant discovery. It
    never reaches the cloud's passes, photos in transit, receipts or another device."""
    topics = Topics(config.mqtt.topic_prefix, config.device_id)
    reads = [
        topics.availability,
        topics.state,
        topics.events,
        topics.last_delivery,
        topics.image_latest,
        discovery_topic(config),
    ]
    lines = [
        f"# The homeowner of {config.device_id}: its owner commands and its dashboard, "
        "no other device's.",
        f"user {user}",
        f"topic write {topics.owner}",
        f"topic write {config.homeassistant.status_topic}",
        *(f"topic read {topic}" for topic in reads),
    ]
    return "\n".join(lines) + "\n"
