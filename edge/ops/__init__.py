"""What the homeowner and the installer run beside the daemon: doctor, the broker ACL block,
the history views, and how doctor reads the installed unit."""
