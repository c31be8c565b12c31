"""The delivery state machine. It decides and never performs I/O: ``step`` answers one input
with a Transition, ``resume`` answers a start, ``next_wake`` says when a timer is next due.

Inside: stepping (routing and the seam), lifecycle (the declared table of phase changes),
courier, homeowner and world (the inputs' handlers), gates and proof (may the door open, is
the camera watching), unlock, health, view (the `state` topic), common."""

from edge.domain.machine.stepping import next_wake, resume, step

__all__ = ["next_wake", "resume", "step"]
