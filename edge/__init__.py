"""doorstep: the delivery-aware doorbell daemon."""

__version__ = "0.1.0"
# Where homeowners find help (Home Assistant shows it as the device's support link).
PROJECT_URL = "https://github.com/doorstep/doorstep"
