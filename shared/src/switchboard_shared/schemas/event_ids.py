"""The ids an event carries: `event_id` (a random UUID, canonical form) and `trace_id`.

Not `uuid.uuid4()`: its os.urandom call costs more than the rest of building an event. The
ids need to be unique, not unguessable, so they come from a generator of this module's own,
seeded from os.urandom once per process (and again in a forked child, which would otherwise
repeat its parent's ids); nothing that reseeds the `random` module's global one affects it.
"""

from __future__ import annotations

import os
import random

_random = random.Random()  # noqa: S311 - ids must be unique, not unguessable
os.register_at_fork(after_in_child=_random.seed)
_getrandbits = _random.getrandbits  # one C call, atomic under the GIL: safe across threads

# What uuid.UUID(int=..., version=4) sets: the variant bits (RFC 4122) and version 4.
_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_SET = (0x8000 << 48) | (0x4000 << 64)


def new_event_id() -> str:
    """Return a random UUID version 4 as a canonical string, as `str(uuid.uuid4())` does."""
    hex_ = f"{_getrandbits(128) & _CLEAR | _SET:032x}"
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


def new_trace_id() -> str:
    """Return 128 random bits as 32 lowercase hex digits."""
    return f"{_getrandbits(128):032x}"
