"""`GET /api/v1/events`: a server-sent-events stream of conversation.changed for the web inbox."""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="Live updates")

STREAM_SECONDS = 300.0


@blp.route("")
class Events(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "`event: conversation.changed` lines, one JSON object each;"
                " the stream ends after five minutes and the browser reconnects",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        }
    )
    def get(self):
        """Stream every conversation change as server-sent events."""
        feed = current_app.extensions["inbox.live_feed"]
        # The stream needs no request context: the feed is all it reads.
        response = Response(feed.stream(STREAM_SECONDS), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"  # proxies must not buffer the stream
        return response
