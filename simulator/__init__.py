"""doorstep's simulator: an embedded broker, a cloud that mints passes, a courier and a demo."""
