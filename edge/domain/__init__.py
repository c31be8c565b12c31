"""The pure core of doorstep: pass rules and the delivery state machine.

Nothing here touches the network, the pins, the disk or the clock: time comes in as an
argument, so every decision that can move the lock is a plain function we can test exhaustively.
"""
