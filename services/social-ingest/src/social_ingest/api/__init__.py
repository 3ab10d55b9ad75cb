"""The HTTP layer: one blueprint per network, all answering through `acceptance`."""
