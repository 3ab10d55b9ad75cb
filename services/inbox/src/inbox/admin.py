"""Placeholder until create-agent lands."""


def register(commands) -> None:
    """Register inbox's switchboard-admin subcommands."""
