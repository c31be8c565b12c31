"""Is there a parcel on the mat? A heuristic, not a model: the drop zone of the confirmation
photo is compared with the same zone in a frame taken when the delivery was announced
(`arriving`); a mean change above a threshold counts as a parcel. Light that changed a lot in
between (dusk, a passing shadow) can fool it either way, so it is reported as
`parcel_visible`, evidence beside the photo, never a verdict."""

from __future__ import annotations

from typing import Any

Zone = tuple[float, float, float, float]  # x0, y0, x1, y1 in fractions of the frame
CHANGED = 12.0  # mean absolute difference, grey levels out of 255


def zone_of(image: Any, zone: Zone) -> Any:
    width, height = image.size
    box = (int(zone[0] * width), int(zone[1] * height), int(zone[2] * width), int(zone[3] * height))
    return image.crop(box).convert("L")


def parcel_visible(reference: Any, now: Any) -> bool:
    from PIL import ImageChops, ImageStat  # noqa: PLC0415 - only pictures need it

    if reference.size != now.size:
        return False
    return ImageStat.Stat(ImageChops.difference(reference, now)).mean[0] > CHANGED
