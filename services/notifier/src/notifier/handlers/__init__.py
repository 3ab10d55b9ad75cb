"""One module per consumed message type."""
