"""Fetch the files a message carries: allowed hosts only, size-capped, within a time limit.

A URL in a webhook payload is attacker-controlled input: it is fetched only when its scheme,
host and port match the network's configured host list (https only, unless a list entry
names `http://host:port`, as tests do), redirects are followed by hand so each hop is checked
again, and credentials never follow a redirect to another host. Any failure yields an
attachment marked unavailable (`sha256: None`, `unavailable_reason`), never an exception.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import posixpath
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests

from social_ingest.normalize.result import MediaRef
from switchboard_shared.blobstore import BlobStore, sha256_hex

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
_CHUNK = 64 * 1024
_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class MediaPolicy:
    """Where one network's files may come from, how big and how slow, and how to resolve ids."""

    allowed_hosts: tuple[str, ...]
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = 10.0  # seconds to connect, and for the whole download
    max_redirects: int = 3
    telegram_token: str | None = dataclasses.field(default=None, repr=False)
    telegram_api: str = "https://api.telegram.org"
    graph_token: str | None = dataclasses.field(default=None, repr=False)
    graph_api: str = "https://graph.facebook.com/v25.0"


@dataclass(frozen=True)
class Fetched:
    """An attachment entry for the payload, and the bytes to store (None if unavailable)."""

    attachment: dict
    data: bytes | None


class MediaUnavailable(Exception):
    """A file could not be fetched; `reason` goes into the attachment."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def url_refusal(url: str, allowed_hosts: tuple[str, ...]) -> str | None:
    """Return why `url` may not be fetched, or None when an allowed-host entry matches it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "malformed URL"
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
    if not host or scheme not in _DEFAULT_PORTS:
        return f"scheme {scheme or 'none'!r} or host not allowed"
    if parts.username or parts.password:
        return "URL with credentials"
    for entry in allowed_hosts:
        want_scheme, want_host, want_port = _entry(entry)
        if scheme != want_scheme or (port or _DEFAULT_PORTS[scheme]) != want_port:
            continue
        if want_host.startswith("*."):
            if host.endswith(want_host[1:]):
                return None
        elif host == want_host:
            return None
    return f"host {host} ({scheme}) is not an allowed media host"


def _entry(entry: str) -> tuple[str, str, int]:
    """Parse `host`, `*.domain`, or `scheme://host[:port]` into (scheme, host, port)."""
    if "://" not in entry:
        return "https", entry.lower(), 443
    parts = urlsplit(entry)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def fetch(session: requests.Session, ref: MediaRef, policy: MediaPolicy) -> Fetched:
    """Fetch one referenced file; failures come back as an unavailable attachment."""
    try:
        ref, headers = _resolve(session, ref, policy)
        data, content_type = _download(session, ref.url or "", policy, headers)
    except MediaUnavailable as exc:
        logger.info("media unavailable from %s: %s", _host(ref.url), exc.reason)
        return Fetched(_attachment(ref, None, None, exc.reason), None)
    return Fetched(_attachment(ref, data, content_type, None), data)


def attach(
    payload: dict,
    refs: list[MediaRef],
    session: requests.Session,
    policy: MediaPolicy,
    store: BlobStore,
) -> None:
    """Fetch `refs`, store their bytes in the blob store and list them on the payload."""
    for ref in refs:
        fetched = fetch(session, ref, policy)
        if fetched.data is not None:
            store.put(fetched.data)
        payload.setdefault("attachments", []).append(fetched.attachment)


def _resolve(
    session: requests.Session, ref: MediaRef, policy: MediaPolicy
) -> tuple[MediaRef, dict[str, str] | None]:
    """Turn a Telegram file_id or a WhatsApp media id into a URL (and the headers it needs)."""
    if ref.kind == "url":
        return ref, None
    if ref.kind == "telegram_file" and policy.telegram_token and ref.media_id:
        base = f"{policy.telegram_api}/bot{policy.telegram_token}"
        found = _json(session, f"{base}/getFile?file_id={quote(ref.media_id)}", policy, None)
        path = (found.get("result") or {}).get("file_path") if found.get("ok") else None
        if not isinstance(path, str):
            raise MediaUnavailable(f"getFile failed: {found.get('description', 'no file_path')}")
        url = f"{policy.telegram_api}/file/bot{policy.telegram_token}/{path}"
        return dataclasses.replace(
            ref, url=url, filename=ref.filename or posixpath.basename(path)
        ), None
    if ref.kind == "whatsapp_media" and policy.graph_token and ref.media_id:
        headers = {"Authorization": f"Bearer {policy.graph_token}"}
        found = _json(session, f"{policy.graph_api}/{ref.media_id}", policy, headers)
        if not isinstance(found.get("url"), str):
            raise MediaUnavailable("the Graph API returned no media url")
        content_type = ref.content_type or found.get("mime_type")
        return dataclasses.replace(ref, url=found["url"], content_type=content_type), headers
    raise MediaUnavailable(f"cannot resolve {ref.kind} without its token")


def _json(session: requests.Session, url: str, policy: MediaPolicy, headers: dict | None) -> dict:
    small = dataclasses.replace(policy, max_bytes=min(policy.max_bytes, 64 * 1024))
    data, _ = _download(session, url, small, headers, accept_errors=True)
    try:
        found = json.loads(data)
    except ValueError:
        raise MediaUnavailable("the file API answered with something that is not JSON") from None
    return found if isinstance(found, dict) else {}


def _download(
    session: requests.Session,
    url: str,
    policy: MediaPolicy,
    headers: dict[str, str] | None,
    accept_errors: bool = False,
) -> tuple[bytes, str | None]:
    deadline = time.monotonic() + policy.timeout
    for _ in range(policy.max_redirects + 1):
        refusal = url_refusal(url, policy.allowed_hosts)
        if refusal:
            raise MediaUnavailable(refusal)
        try:
            response = session.get(
                url,
                headers=headers,
                stream=True,
                allow_redirects=False,
                timeout=(policy.timeout, policy.timeout),
            )
            with response:
                if response.is_redirect:
                    target = urljoin(url, response.headers["location"])
                    if _origin(target) != _origin(url):
                        headers = None  # a token for one host is never sent to another
                    url = target
                    continue
                if response.status_code != 200 and not accept_errors:
                    raise MediaUnavailable(f"HTTP {response.status_code}")
                return _read(response, policy, deadline), response.headers.get("content-type")
        except requests.Timeout:
            raise MediaUnavailable(f"timed out after {policy.timeout:g}s") from None
        except requests.RequestException as exc:
            raise MediaUnavailable(f"request failed: {type(exc).__name__}") from None
    raise MediaUnavailable(f"more than {policy.max_redirects} redirects")


def _read(response: requests.Response, policy: MediaPolicy, deadline: float) -> bytes:
    """Stream the body, stopping as soon as it passes the size limit or the time limit."""
    too_large = f"larger than {policy.max_bytes} bytes"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise MediaUnavailable(too_large)
    chunks, total = [], 0
    for chunk in response.iter_content(_CHUNK):
        total += len(chunk)
        if total > policy.max_bytes:
            raise MediaUnavailable(too_large)
        if time.monotonic() > deadline:
            raise MediaUnavailable(f"timed out after {policy.timeout:g}s")
        chunks.append(chunk)
    return b"".join(chunks)


def _attachment(
    ref: MediaRef, data: bytes | None, served_type: str | None, reason: str | None
) -> dict:
    served = (served_type or "").split(";")[0].strip().lower()
    # The server's type wins unless it is the generic one; the payload's hint is the fallback.
    if not served or served == "application/octet-stream":
        served = ref.content_type or served or "application/octet-stream"
    return {
        "filename": ref.filename or _filename(ref.url),
        "content_type": served,
        "size": len(data) if data is not None else ref.size,
        "sha256": sha256_hex(data) if data is not None else None,
        "content_id": None,
        "inline": False,
        "unavailable_reason": reason,
    }


def _filename(url: str | None) -> str | None:
    name = posixpath.basename(unquote(urlsplit(url or "").path))
    return name if "." in name and len(name) <= 255 else None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _host(url: str | None) -> str:
    """The host only: media URLs carry signatures and Telegram's carry the bot token."""
    try:
        return urlsplit(url or "").hostname or "?"
    except ValueError:
        return "?"
