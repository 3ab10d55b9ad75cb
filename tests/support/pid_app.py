"""A WSGI app that names the gunicorn worker serving it, for tests of how workers share load."""

from __future__ import annotations

import os


def app(environ, start_response):
    """Read the body, answer 200 with the serving process's pid in `X-Worker-Pid`."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("200 OK", [("X-Worker-Pid", str(os.getpid())), ("Content-Length", "0")])
    return [b""]
