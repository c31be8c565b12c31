"""Photos over the broker's message cap are made smaller, never dropped."""

from __future__ import annotations

import io
import os

from PIL import Image

from edge.hardware.jpeg import fit_jpeg


def noisy_jpeg(size: tuple[int, int] = (1280, 720)) -> bytes:
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def test_a_photo_under_the_cap_is_untouched() -> None:
    data = noisy_jpeg((64, 64))
    assert fit_jpeg(data, len(data)) is data


def test_a_photo_over_the_cap_is_re_encoded_under_it() -> None:
    data = noisy_jpeg()
    assert len(data) > 131072
    fitted = fit_jpeg(data, 131072)
    assert len(fitted) <= 131072
    assert Image.open(io.BytesIO(fitted)).format == "JPEG"
