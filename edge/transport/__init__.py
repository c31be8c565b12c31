"""Links to the outside world: MQTT (the only paho user) and the outbox pump."""
