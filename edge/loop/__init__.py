"""The core loop and its ports: the scheduler (core), the executor that carries out each
transition, the queue it reads (inbox), the pass checks before it (intake), the effects it asks
for, and what it does on every tick (housekeeping)."""
