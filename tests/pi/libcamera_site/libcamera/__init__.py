# As libcamera's own src/py/libcamera/__init__.py: everything comes from the binding.
from ._libcamera import *  # noqa: F403
