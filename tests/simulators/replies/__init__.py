"""The providers' reply APIs in one Flask app: one blueprint per provider, every call recorded.

    sim = ReplySimulator(page_tokens={"682498302938465": "page-token"})
    app = create_app(sim)          # /graph/v25.0/..., /x/2/..., /telegram/bot<token>/...
    sim.inject("graph", meta_error("rate_limit_613"))
    ... point the client's base URLs at the app, send, then assert on sim.calls ...

Base URLs: Graph `<server>/graph` (then `/v<major>.<minor>/...`), X `<server>/x` (then `/2/...`),
Telegram `<server>/telegram` (then `/bot<token>/<method>`).
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, g, request

from tests.simulators.replies import graph, telegram_api, x_api
from tests.simulators.replies.state import Call, ReplySimulator

__all__ = ["ReplySimulator", "create_app"]


def create_app(sim: ReplySimulator | None = None) -> Flask:
    """Build the simulator app around `sim` (a fresh one if None; also in app.extensions)."""
    app = Flask(__name__)
    app.extensions["reply_simulator"] = sim = sim or ReplySimulator()
    app.register_blueprint(graph.blueprint, url_prefix="/graph")
    app.register_blueprint(x_api.blueprint, url_prefix="/x")
    app.register_blueprint(telegram_api.blueprint, url_prefix="/telegram")

    @app.before_request
    def inject_fault() -> Response | None:
        fault = sim.take_fault(request.blueprint or "", request.path)
        if fault is None:
            return None
        time.sleep(fault.delay)
        if fault.status is None:
            return None
        g.injected = True
        return Response(
            fault.payload(), fault.status, fault.headers, content_type=fault.content_type
        )

    @app.after_request
    def record(response: Response) -> Response:
        sim.record(
            Call(
                provider=request.blueprint or "",
                method=request.method,
                path=request.path,
                query=request.args.to_dict(),
                headers=dict(request.headers),
                body=_request_body(),
                status=response.status_code,
                response=response.get_json(silent=True) if response.is_json else None,
            )
        )
        return response

    return app


def _request_body() -> Any:
    body = request.get_json(silent=True)
    if body is not None:
        return body
    return request.form.to_dict() or None
