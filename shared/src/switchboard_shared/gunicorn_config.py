"""Gunicorn settings for the HTTP services.

Used as `gunicorn -c python:switchboard_shared.gunicorn_config SERVICE.wsgi:app`.

Threads, not processes alone: an ingest request mostly waits for its publisher confirm,
and many requests waiting together are what make an ingest service fast. Override any of
these per deployment with gunicorn's own GUNICORN_CMD_ARGS (e.g. "--workers 4").
"""

import os

from prometheus_client import multiprocess

# gthread, with kept-alive connections shared evenly between the workers (see that module).
worker_class = "switchboard_shared.gunicorn_worker.BalancedThreadWorker"
workers = 2
threads = 8
# SIGTERM: stop accepting, let requests in flight finish (their confirms included).
graceful_timeout = 30
timeout = 60
keepalive = 5
accesslog = None
errorlog = "-"
# Bodies are read by the views with an explicit limit; headers stay within gunicorn's defaults.
limit_request_line = 8190


def child_exit(server, worker) -> None:
    """Drop a dead worker's metric files so /metrics does not count it forever."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # prometheus_client's own switch
        multiprocess.mark_process_dead(worker.pid)
