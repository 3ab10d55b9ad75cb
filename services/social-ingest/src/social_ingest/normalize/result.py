"""What a normalizer returns: bus payloads, media to fetch, and what it skipped and why."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from switchboard_shared.errors import InvalidEventError
from switchboard_shared.schemas import DELIVERY_STATUS, MESSAGE_RECEIVED
from switchboard_shared.schemas.json_ready import as_json_ready

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Skipped:
    """An event (or a whole body) that produced nothing, with the reason to log.

    `parked` is False for events left out by design (a like, an edit, a retweet): those are
    only logged. The others (malformed, unknown kinds, unconfigured accounts) are also
    parked in `switchboard.rejected` with the archived body's sha256, for someone to look at.
    """

    reason: str
    where: str = ""
    parked: bool = True


@dataclass(frozen=True)
class MediaRef:
    """A file a message carries, to be fetched by media.py and stored in the blob store.

    `kind` says how: `url` (fetch `url` from an allowed host), `telegram_file` (resolve
    `media_id` with getFile) or `whatsapp_media` (resolve `media_id` with the Graph API).
    """

    url: str | None
    content_type: str | None = None
    filename: str | None = None
    kind: str = "url"
    media_id: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Context:
    """What the caller knows about the delivery: when it arrived and the archived body's hash."""

    received_at: datetime
    raw_sha256: str

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")


@dataclass
class Normalized:
    """Everything one webhook delivery became.

    `media[i]` lists the files of `messages[i]`; their attachments are added by the caller
    once fetched. Payloads are JSON-ready (datetimes as ISO 8601 strings); they are checked
    against their schema once, when published (see ingestion.py), where an invalid one
    becomes a skip instead of failing the whole delivery.
    """

    messages: list[dict] = field(default_factory=list)
    statuses: list[dict] = field(default_factory=list)
    media: dict[int, list[MediaRef]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    # Where each message and status came from in the body, for the skip of an invalid one.
    message_paths: list[str] = field(default_factory=list)
    status_paths: list[str] = field(default_factory=list)

    def add_message(
        self, payload: dict, media: list[MediaRef] | None = None, where: str = ""
    ) -> None:
        """Keep a `message.received/1` payload and the files it carries."""
        if media:
            self.media[len(self.messages)] = list(media)
        self.messages.append(as_json_ready(payload))
        self.message_paths.append(where)

    def add_status(self, payload: dict, where: str = "") -> None:
        """Keep a `delivery.status/1` payload."""
        self.statuses.append(as_json_ready(payload))
        self.status_paths.append(where)

    def drop_invalid(self) -> None:
        """Turn every payload its schema refuses into a skip, keeping media aligned."""
        messages, paths, media = [], [], {}
        for index, (payload, where) in enumerate(
            zip(self.messages, self.message_paths, strict=True)
        ):
            try:
                MESSAGE_RECEIVED.validate(payload)
            except InvalidEventError as exc:
                self.skip(f"normalized {exc.reason}", where)
                continue
            if index in self.media:
                media[len(messages)] = self.media[index]
            messages.append(payload)
            paths.append(where)
        self.messages, self.message_paths, self.media = messages, paths, media
        statuses, status_paths = [], []
        for payload, where in zip(self.statuses, self.status_paths, strict=True):
            try:
                DELIVERY_STATUS.validate(payload)
            except InvalidEventError as exc:
                self.skip(f"normalized {exc.reason}", where)
                continue
            statuses.append(payload)
            status_paths.append(where)
        self.statuses, self.status_paths = statuses, status_paths

    def skip(self, reason: str, where: str = "") -> None:
        """Record that something could not become an event, and why."""
        self.skipped.append(Skipped(reason, where))

    def ignore(self, reason: str, where: str = "") -> None:
        """Record that something is left out by design (logged, not parked), and why."""
        self.skipped.append(Skipped(reason, where, parked=False))

    @property
    def parked(self) -> list[Skipped]:
        """The skips someone should look at: everything not left out by design."""
        return [s for s in self.skipped if s.parked]

    def extend(self, other: Normalized) -> None:
        """Append another result, re-indexing its media."""
        offset = len(self.messages)
        self.messages.extend(other.messages)
        self.message_paths.extend(other.message_paths)
        self.statuses.extend(other.statuses)
        self.status_paths.extend(other.status_paths)
        self.media.update({offset + i: refs for i, refs in other.media.items()})
        self.skipped.extend(other.skipped)

    @contextmanager
    def guard(self, where: str) -> Iterator[None]:
        """Turn a payload shape the normalizer did not foresee into a skip for that event only.

        The raw body is archived, so a skipped event can be re-normalized once the code
        handles it; the traceback is logged so the gap is seen, not silently acked.
        """
        try:
            yield
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            logger.warning("could not normalize %s", where, exc_info=True)
            self.skip(f"could not normalize: {type(exc).__name__}: {exc}", where)


# A webhook body: the raw bytes as received (or text, or JSON already parsed).
Body = bytes | str | Mapping[str, Any]


def start(
    body: Body, received_at: datetime, raw_sha256: str
) -> tuple[Normalized, dict | None, Context]:
    """Begin a normalization: an empty result, the body as a dict (None if it is not one)."""
    ctx = Context(received_at, raw_sha256)
    result = Normalized()
    return result, parse_body(body, result), ctx


def parse_body(body: Body, result: Normalized) -> dict | None:
    """Return the body as a dict, or record why it is not one and return None."""
    if isinstance(body, Mapping):
        return dict(body)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        result.skip(f"malformed JSON: {exc}", "body")
        return None
    if not isinstance(data, dict):
        result.skip(f"body is a JSON {type(data).__name__}, not an object", "body")
        return None
    return data


def each(items: Any, where: str, result: Normalized, handle: Callable[[dict, str], None]) -> None:
    """Call `handle(item, path)` for every object in a list, guarding each one."""
    if not isinstance(items, list):
        result.skip(f"expected a list, got {type(items).__name__}", where)
        return
    for i, item in enumerate(items):
        path = f"{where}[{i}]"
        if not isinstance(item, dict):
            result.skip(f"expected an object, got {type(item).__name__}", path)
            continue
        with result.guard(path):
            handle(item, path)
