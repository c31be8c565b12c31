"""Threads that work for the core loop and report back through its queue: the camera."""
