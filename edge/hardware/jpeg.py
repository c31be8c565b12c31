"""Fit a JPEG under a byte limit (a broker's message cap): lower the quality first, then the
size. A photo is made smaller, never dropped."""

from __future__ import annotations

import io

QUALITIES = (75, 60, 45, 30)


def fit_jpeg(data: bytes, max_bytes: int) -> bytes:
    if len(data) <= max_bytes:
        return data
    from PIL import Image  # noqa: PLC0415 - only a photo too large for the broker needs it

    image = Image.open(io.BytesIO(data))
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
