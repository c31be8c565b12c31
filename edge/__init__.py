"""doorstep: the delivery-aware doorbell daemon."""

__version__ = "0.1.0"
