"""`switchboard-admin`: operator commands, built on pika for an independent view of the broker."""
