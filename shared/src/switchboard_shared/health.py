"""`/healthz`, `/readyz` and `/metrics` for Flask services and for worker processes.

`/healthz` says the process is alive; `/readyz` runs the readiness checks (broker and
database reachable) and answers 503 naming what failed; `/metrics` is Prometheus text.
Under gunicorn with several workers, set `PROMETHEUS_MULTIPROC_DIR` so `/metrics` adds up
every worker's figures instead of showing whichever worker answered.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from http import HTTPStatus
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from flask import Blueprint, Response, jsonify
from kombu import Connection
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

from switchboard_shared.config import AmqpSettings, DatabaseSettings

log = logging.getLogger(__name__)

Check = Callable[[], None]


def broker_check(settings: AmqpSettings) -> Check:
    """A readiness check that opens (and closes) a connection to RabbitMQ."""

    def check() -> None:
        with Connection(settings.url, connect_timeout=2) as connection:
            connection.connect()

    return check


def database_check(settings: DatabaseSettings) -> Check:
    """A readiness check that runs `SELECT 1` on PostgreSQL."""

    def check() -> None:
        import psycopg  # only services with a database pay for the import

        with psycopg.connect(settings.url, connect_timeout=2) as connection:
            connection.execute("SELECT 1")

    return check


def readiness(checks: Mapping[str, Check]) -> tuple[int, dict]:
    """Run every check; answer (HTTP status, body) naming what failed and why."""
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"{type(exc).__name__}: {exc}"
    ready = all(value == "ok" for value in results.values())
    return (200 if ready else 503), {"status": "ok" if ready else "unavailable", "checks": results}


def metrics_text() -> bytes:
    """The Prometheus exposition of this process (or of every gunicorn worker)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # prometheus_client's own switch
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(DEFAULT_REGISTRY)


def health_blueprint(checks: Mapping[str, Check]) -> Blueprint:
    """A blueprint serving the three endpoints; register it on the service's app."""
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/healthz")
    def healthz():
        """Say the process is alive."""
        return jsonify(status="ok")

    @blueprint.get("/readyz")
    def readyz():
        """Say whether the broker and database are reachable."""
        status, body = readiness(checks)
        return jsonify(body), status

    @blueprint.get("/metrics")
    def metrics():
        """Expose Prometheus metrics."""
        return Response(metrics_text(), mimetype=CONTENT_TYPE_LATEST)

    return blueprint


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass  # probes call every few seconds: no access log


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve_worker_health(host: str, port: int, checks: Mapping[str, Check]) -> WSGIServer:
    """Serve the three endpoints for a worker process from a daemon thread."""

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [metrics_text()]
        if path == "/healthz":
            status, body = 200, {"status": "ok"}
        elif path == "/readyz":
            status, body = readiness(checks)
        else:
            status, body = 404, {"error": "not found"}
        start_response(
            f"{status} {HTTPStatus(status).phrase}", [("Content-Type", "application/json")]
        )
        return [json.dumps(body).encode()]

    server = make_server(
        host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    log.info("health and metrics on port %d", server.server_port)
    return server
