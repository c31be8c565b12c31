"""From a camera's picture to the JPEG that is hashed, stored and sent: the privacy masks are
drawn on it first (so the unmasked picture is never written anywhere), then it is encoded and,
if a broker caps messages, fitted under the cap (lower quality first, then smaller: a photo is
made smaller, never dropped)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

QUALITIES = (75, 60, 45, 30)
Polygon = Sequence[tuple[float, float]]


def masked(image: Any, masks: Sequence[Polygon]) -> Any:
    """``image`` with every mask (polygons in fractions of the frame) filled solid black; the
    picture itself is left as it was (a frozen camera hands out the same one again)."""
    if not masks:
        return image
    from PIL import ImageDraw  # noqa: PLC0415 - only pictures need it

    image = image.copy()
    draw = ImageDraw.Draw(image)
    width, height = image.size
    for polygon in masks:
        draw.polygon([(x * width, y * height) for x, y in polygon], fill=(0, 0, 0))
    return image


def masked_jpeg(
    image: Any, masks: Sequence[Polygon], quality: int, max_bytes: int | None = None
) -> bytes:
    """Fill every mask solid black, then encode."""
    image = masked(image, masks)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    data = buffer.getvalue()
    return fit_jpeg(data, max_bytes) if max_bytes is not None else data


def fit_jpeg(data: bytes, max_bytes: int) -> bytes:
    if len(data) <= max_bytes:
        return data
    from PIL import Image  # noqa: PLC0415 - only a photo too large for the broker needs it

    image: Image.Image = Image.open(io.BytesIO(data))
    image.load()
    while True:
        for quality in QUALITIES:
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=quality)
            if buffer.tell() <= max_bytes:
                return buffer.getvalue()
        if min(image.size) <= 32:
            return buffer.getvalue()  # as small as a photo can usefully be
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4))
