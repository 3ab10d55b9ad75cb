"""Prometheus metrics the shared bus code records for every service."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS_PUBLISHED = Counter("switchboard_events_published_total", "Events the broker confirmed")
EVENTS_CONSUMED = Counter(
    "switchboard_events_consumed_total",
    "Consumed messages by queue and outcome (ack, retry, dead_letter)",
    ["queue", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "switchboard_handler_seconds",
    "Time a handler took for one message or batch",
    ["queue"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
