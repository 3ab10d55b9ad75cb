"""Switchboard's notifier: consume reply.requested, send once per reply, publish delivery.status."""
