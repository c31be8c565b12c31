"""picamera2 0.3.38's own source (from PyPI) on this machine: only what exists on Raspberry Pi OS
alone is simulated: libcamera's C binding and kms++'s (``libcamera_site/``, put first on the
path here), and the kernel's dma-heap (``memfd_heap``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).with_name("libcamera_site")))

from libcamera._libcamera import MODES, SENSOR
from picamera2 import Picamera2

from tests.pi.memfd_heap import MemfdAllocator

__all__ = ["MODES", "SENSOR", "MemfdAllocator", "Picamera2"]
