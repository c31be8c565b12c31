"""Links to the outside world: the broker (the only paho user), inbound routing by kind, and
Home Assistant's discovery. It never reaches the store or the loop (import-linter)."""
