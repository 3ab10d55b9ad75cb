"""Pure normalizers: a webhook body in, bus payloads, media to fetch and skips out.

One module per network; each exposes `normalize(body, ..., received_at, raw_sha256)`
returning a `Normalized`. `body` is the raw bytes (or an already parsed dict): malformed
JSON is a skip, not an exception. No Flask, kombu or requests here.
"""

from social_ingest.normalize.result import Context, MediaRef, Normalized, Skipped

__all__ = ["Context", "MediaRef", "Normalized", "Skipped"]
