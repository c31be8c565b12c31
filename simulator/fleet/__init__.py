"""`doorstep-sim fleet`: many simulated doorbells in one process against one MQTT broker, for
load tests of a delivery cloud and its broker. Each device runs the daemon's own core (the
domain machine, the pass checks, the ledger and outbox in its own database) on a network loop
shared by all; a shared cloud plays couriers and counts what was announced and never came."""
