"""How doorstep speaks to the journal and to systemd: one-line records, a failing part said
once with its fix, throttled reminders, safe outside text, sd_notify and the watchdog."""
