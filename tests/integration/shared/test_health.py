"""Health endpoints: alive, ready only when the broker and database answer, Prometheus text."""

import requests
from flask import Flask

from switchboard_shared.config import AmqpSettings, DatabaseSettings, Secret
from switchboard_shared.health import (
    broker_check,
    database_check,
    health_blueprint,
    serve_worker_health,
)
from switchboard_shared.metrics import EVENTS_PUBLISHED

DOWN_BROKER = AmqpSettings(url=Secret("amqp://guest:guest@127.0.0.1:1/"))
DOWN_DATABASE = DatabaseSettings(url=Secret("postgresql://postgres@127.0.0.1:1/none"))


def app_with(checks) -> Flask:
    app = Flask(__name__)
    app.register_blueprint(health_blueprint(checks))
    return app


def test_ready_when_broker_and_database_answer(amqp_settings, database_settings):
    client = app_with(
        {"broker": broker_check(amqp_settings), "database": database_check(database_settings)}
    ).test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"status": "ok", "checks": {"broker": "ok", "database": "ok"}}


def test_not_ready_names_what_is_down(amqp_settings):
    client = app_with(
        {"broker": broker_check(amqp_settings), "database": database_check(DOWN_DATABASE)}
    ).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["broker"] == "ok"
    assert "OperationalError" in ready.json["checks"]["database"]
    down = app_with({"broker": broker_check(DOWN_BROKER)}).test_client().get("/readyz")
    assert down.status_code == 503
    assert client.get("/healthz").status_code == 200  # alive all the same


def test_metrics_are_prometheus_text():
    EVENTS_PUBLISHED.inc(0)
    response = app_with({}).test_client().get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert b"switchboard_events_published_total" in response.data


def test_worker_health_server(amqp_settings):
    server = serve_worker_health(
        "127.0.0.1",
        0,
        {"broker": broker_check(amqp_settings), "database": database_check(DOWN_DATABASE)},
    )
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
        metrics = requests.get(f"{base}/metrics", timeout=5)
        assert b"switchboard_events_published_total" in metrics.content
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["checks"]["broker"] == "ok"
        assert requests.get(f"{base}/nope", timeout=5).status_code == 404
    finally:
        server.shutdown()
