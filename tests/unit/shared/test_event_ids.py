"""Event and trace ids keep their formats and stay unique across threads and forked children."""

from __future__ import annotations

import os
import random
import re
import threading
import uuid

import pytest

from switchboard_shared.schemas import MESSAGE_RECEIVED, Event
from switchboard_shared.schemas.event_ids import new_event_id, new_trace_id
from tests.support.builders import message_received

TRACE_ID = re.compile(r"[0-9a-f]{32}")


def test_event_ids_are_canonical_uuid4_strings():
    for _ in range(2000):
        event_id = new_event_id()
        parsed = uuid.UUID(event_id)
        assert str(parsed) == event_id
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_trace_ids_are_32_lowercase_hex_digits():
    for _ in range(2000):
        assert TRACE_ID.fullmatch(new_trace_id())


def test_an_event_gets_fresh_ids_unless_given():
    first, second = Event(MESSAGE_RECEIVED, {}), Event(MESSAGE_RECEIVED, {})
    assert first.event_id != second.event_id
    assert first.trace_id != second.trace_id
    assert uuid.UUID(first.event_id).version == 4
    assert TRACE_ID.fullmatch(first.trace_id)
    given = Event(MESSAGE_RECEIVED, message_received(), event_id="e", trace_id="t")
    assert given.headers()["event_id"] == "e"
    assert given.headers()["trace_id"] == "t"


def test_ids_are_unique_across_threads():
    per_thread: list[list[str]] = [[] for _ in range(8)]

    def make(into: list[str]) -> None:
        for _ in range(5000):
            into.append(new_event_id())
            into.append(new_trace_id())

    threads = [threading.Thread(target=make, args=(ids,)) for ids in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in per_thread for i in ids]
    assert len(set(every)) == len(every) == 8 * 10000


def test_reseeding_the_random_module_does_not_repeat_ids():
    random.seed(0)
    first = new_event_id()
    random.seed(0)
    assert new_event_id() != first


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_repeat_its_parents_ids():
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids, then leave without running pytest's exit
        try:
            os.write(write_end, f"{new_event_id()} {new_trace_id()}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        child = pipe.read().decode().split()
    os.waitpid(pid, 0)
    parent = [new_event_id(), new_trace_id()]
    assert len(child) == 2
    assert child[0] != parent[0]
    assert child[1] != parent[1]
