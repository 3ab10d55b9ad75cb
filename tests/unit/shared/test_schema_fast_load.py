"""The fast loader never accepts what marshmallow rejects, and loads alike what it accepts."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard_shared.errors import InvalidEventError
from switchboard_shared.schemas import (
    CONVERSATION_CHANGED,
    DELIVERY_STATUS,
    MESSAGE_RECEIVED,
    REPLY_REQUESTED,
    to_json_ready,
)
from switchboard_shared.schemas.fast_load import load_fast
from switchboard_shared.schemas.json_ready import _json_default, as_json_ready
from tests.support.builders import (
    BUILDERS,
    conversation_changed,
    delivery_status,
    message_received,
    reply_requested,
)

WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _email() -> dict:
    return message_received(
        recipients={"to": [{"email": "support@example.com", "display_name": "Support"}]},
        recipient={"external_id": "bob@example.net", "email": "bob@example.net"},
        thread={"in_reply_to": "<a@x>", "references": ["<r@x>", "<a@x>"]},
        html="<p>hi</p>",
        attachments=[
            {"filename": "a.pdf", "size": 12, "sha256": "cd" * 32},
            {"content_type": "image/png", "inline": True, "sha256": None},
        ],
        flags={"auto_submitted": True},
        bounce={"original_message_id": "<o@x>", "status": "5.1.1"},
        defects=["missing boundary"],
        metadata={"uid": 7, "mailbox": "INBOX", "nested": {"a": [1, 2.5, None]}},
    )


def _messenger() -> dict:
    return message_received(
        channel="messenger",
        inbox="1234567890",
        external_id="m_abc",
        author={"external_id": "24680", "display_name": None},
        subject=None,
        metadata={"page_id": "1234567890"},
    )


SEEDS = {
    MESSAGE_RECEIVED: [_email, _messenger, message_received],
    DELIVERY_STATUS: [
        delivery_status,
        lambda: delivery_status(reply_id=None, external_ids=[], watermark=WHEN, recipient_id="9"),
        lambda: delivery_status(status="retrying", attempt=2, next_attempt_at=WHEN, reason="429"),
    ],
    CONVERSATION_CHANGED: [
        conversation_changed,
        lambda: conversation_changed(inbox="1", channel="email", status="open", assignee_id="a"),
    ],
    REPLY_REQUESTED: [
        reply_requested,
        lambda: reply_requested(
            channel="email",
            email={
                "message_id": "<m@x>",
                "sender": {"email": "support@example.com"},
                "to": [{"email": "ada@example.net", "display_name": "Ada"}],
                "references": ["<a@x>"],
            },
            agent={"id": "agent-1"},
            automatic=True,
        ),
    ],
}
CASES = [(kind, seed) for kind, seeds in SEEDS.items() for seed in seeds]
CASE_IDS = [f"{kind.header}-{n}" for kind, seeds in SEEDS.items() for n in range(len(seeds))]

# Values that sit on either side of some field's rules: types marshmallow coerces, bounds, formats.
ODD_VALUES = [
    None, "", " ", "x", "email", "telegram", "public", "sent", "failed", "created", "nobody@",
    "ada@example.net", "ab" * 32, "AB" * 32, "ab" * 31, 0, -1, 1, 12, 1.0, 1.5, 2**70, "12",
    True, False, "true", "false", [], {}, ["x"], [None], [1], [{}], {"a": 1}, {"email": "x"},
    {"external_id": "1"}, {"external_id": ""}, {"1": None}, b"bytes",
    "2026-01-01T10:00:00", "2026-01-01T10:00:00+00:00", "2026-01-01T10:00:00Z",
    "2026-01-01", "2026-13-01T10:00:00+00:00", "not a date", 1767261600,
]  # fmt: skip


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _odd_value(data: st.DataObject):
    return copy.deepcopy(data.draw(st.sampled_from(ODD_VALUES)))  # a later "add" may append to it


def _mutate(payload: dict, data: st.DataObject) -> dict:
    payload = copy.deepcopy(payload)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(_paths(payload))))
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        target = parent[path[-1]] if path else payload
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "add" and isinstance(target, (dict, list)):
            key = data.draw(st.sampled_from(["surprise", "email", "to", "inline", 1]))
            odd = _odd_value(data)
            target.append(odd) if isinstance(target, list) else target.__setitem__(key, odd)
        elif action == "delete" and path:
            del parent[path[-1]]
        elif path:
            parent[path[-1]] = _odd_value(data)
    return payload


@pytest.mark.parametrize("kind", list(SEEDS), ids=lambda k: k.header)
def test_every_event_type_has_a_fast_loader(kind):
    assert kind.fast_loader is not None


@pytest.mark.parametrize(("kind", "seed"), CASES, ids=CASE_IDS)
def test_well_formed_payloads_take_the_fast_path(kind, seed):
    data = to_json_ready(seed())
    loaded = load_fast(kind.fast_loader, data)
    assert loaded is not None
    assert repr(loaded) == repr(kind.schema.load(data))


def test_absent_nested_defaults_are_fresh_objects():
    data = to_json_ready(_messenger())
    first, second = MESSAGE_RECEIVED.load(data), MESSAGE_RECEIVED.load(data)
    first["thread"]["references"].append("<x@y>")
    assert second["thread"]["references"] == []


def _marshmallow_only(kind):
    """The event type as it was before the fast path: marshmallow alone decides."""
    reference = copy.copy(kind)
    object.__setattr__(reference, "fast_loader", None)
    return reference


def _outcome(call, payload) -> tuple[str, str]:
    try:
        return "ok", repr(call(payload))
    except (InvalidEventError, TypeError, ValueError) as exc:  # bytes, for one, are not JSON
        return "error", f"{type(exc).__name__}{exc.args!r}"


def _single_mutations(payload: dict):
    """Every payload one edit away: each value replaced by each odd value, deleted, or added to."""
    for path in _paths(payload):
        if not path:
            continue
        for odd in [*ODD_VALUES, "delete"]:
            mutated = copy.deepcopy(payload)
            parent = mutated
            for step in path[:-1]:
                parent = parent[step]
            if odd == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(odd)
            yield mutated
    for path in _paths(payload):
        target = copy.deepcopy(payload)
        for step in path:
            target = target[step]
        if isinstance(target, dict):
            target["surprise"] = 1
            yield target


@pytest.mark.parametrize(("kind", "seed"), CASES, ids=CASE_IDS)
def test_fast_path_agrees_with_marshmallow_one_edit_away(kind, seed):
    for payload in _single_mutations(to_json_ready(seed())):
        fast = load_fast(kind.fast_loader, copy.deepcopy(payload))
        if fast is not None:
            assert repr(fast) == repr(kind.schema.load(payload)), payload


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), data=st.data())
def test_fast_path_agrees_with_marshmallow(case, data):
    kind, seed = case
    payload = _mutate(to_json_ready(seed()), data)
    fast = load_fast(kind.fast_loader, copy.deepcopy(payload))
    if fast is not None:
        assert repr(fast) == repr(kind.schema.load(payload))
    reference = _marshmallow_only(kind)
    assert _outcome(kind.load, payload) == _outcome(reference.load, payload)
    assert _outcome(kind.validate, payload) == _outcome(reference.validate, payload)


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=-3))]))
    | st.dates()
    | st.uuids()
    | st.frozensets(st.integers(), max_size=2)
)
JSON_LIKE = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=3) | st.integers() | st.booleans(), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(JSON_LIKE)
def test_to_json_ready_is_the_json_round_trip(value):
    expected = json.loads(json.dumps(value, default=_json_default))
    assert repr(to_json_ready(value)) == repr(expected)


@settings(max_examples=500, deadline=None)
@given(JSON_LIKE)
def test_as_json_ready_is_the_json_round_trip_without_a_needless_copy(value):
    expected = json.loads(json.dumps(value, default=_json_default))
    ready = as_json_ready(value)
    assert repr(ready) == repr(expected)
    if type(expected) in (dict, list):  # already JSON-ready: returned as is
        assert as_json_ready(expected) is expected


def test_as_json_ready_copies_what_json_would_change():
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        as_json_ready({"a": cycle})
    for changed in ({"a": (1, 2)}, {1: "x"}, {"a": [WHEN]}, [{"a": {"b": date(2026, 1, 2)}}]):
        assert as_json_ready(changed) is not changed
        assert as_json_ready(changed) == json.loads(json.dumps(changed, default=_json_default))


def test_to_json_ready_fails_as_json_does():
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        to_json_ready({"a": cycle})
    with pytest.raises(TypeError, match="object is not JSON serializable"):
        to_json_ready({"a": object()})
    assert to_json_ready({"d": date(2026, 1, 2), "u": uuid.UUID(int=1)}) == {
        "d": "2026-01-02",
        "u": "00000000-0000-0000-0000-000000000001",
    }


@pytest.mark.parametrize("kind", list(BUILDERS), ids=lambda k: k.header)
def test_validate_returns_a_fresh_json_ready_copy(kind):
    sent = BUILDERS[kind]()
    data = kind.validate(sent)
    assert data == json.loads(json.dumps(sent, default=_json_default))
    assert data is not sent


def test_validate_returns_a_json_ready_payload_itself():
    sent = to_json_ready(_email())
    assert MESSAGE_RECEIVED.validate(sent) is sent
