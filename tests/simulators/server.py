"""Run a WSGI app (a simulator, a test CDN) on 127.0.0.1 in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server


@contextmanager
def serve(app: Callable[..., Any]) -> Iterator[str]:
    """Serve `app` on a free port for the duration of the block; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval makes shutdown (and so each test's teardown) quick.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
