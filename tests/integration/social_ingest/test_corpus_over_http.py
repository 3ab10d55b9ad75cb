"""The real payloads of the corpus, signed and posted to the running service.

The unit tests hold each normalized payload to its expected author and text; here the same
bytes go over HTTP and must come out of the broker as what the normalizer makes of them,
with attachments the corpus cannot serve kept and marked unavailable.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import yaml

from social_ingest.accounts import parse_accounts
from social_ingest.normalize import telegram, x
from tests.simulators import telegram as telegram_sim
from tests.simulators import x as x_sim
from tests.simulators.accounts import ENVIRON, accounts_data

ACCOUNTS = parse_accounts(accounts_data(), ENVIRON)


class RubyYamlLoader(yaml.SafeLoader):
    """Zammad's events are Ruby `to_yaml` output."""


RubyYamlLoader.add_multi_constructor(
    "!ruby/hash:", lambda loader, _, node: loader.construct_mapping(node, deep=True)
)


def who_said_what(messages: list[dict]) -> list[tuple]:
    return [
        (m["channel"], m["external_id"], m["author"]["external_id"], m["text"], m["flags"]["echo"])
        for m in messages
    ]


def test_zammads_telegram_updates(http, service, bus, corpus_dir):
    url = f"{service}/webhooks/telegram/{telegram_sim.BOT_ID}"
    files = sorted((corpus_dir / "zammad/social/telegram").glob("*/*.json"))
    assert files
    expected: list[dict] = []
    for path in files:
        raw = path.read_bytes()
        expected += telegram.normalize(
            raw,
            bot=ACCOUNTS.telegram_bots[telegram_sim.BOT_ID],
            received_at=datetime.now(UTC),
            raw_sha256="0" * 64,
        ).messages
        delivery = telegram_sim.delivery(json.loads(raw))
        assert delivery.send(http, url).status_code == 200, path.name
    published = bus()
    assert who_said_what(published.messages) == who_said_what(expected)
    assert published.rejected == []
    # Their file ids are not on our getFile simulator: kept, marked unavailable.
    files_of = [a for m in published.messages for a in m["attachments"]]
    assert files_of and all(a["sha256"] is None for a in files_of)
    assert all(a["unavailable_reason"].startswith("getFile failed") for a in files_of)


def test_zammads_x_events(http, service, bus, corpus_dir):
    url = f"{service}/webhooks/x/main"
    files = sorted((corpus_dir / "zammad/social/twitter/webhook_events").glob("*.yml"))
    assert files
    expected = {"messages": [], "statuses": 0}
    for path in files:
        body = yaml.load(path.read_text(encoding="utf-8"), RubyYamlLoader)  # noqa: S506
        delivery = x_sim.delivery(body)
        result = x.normalize(
            delivery.body,
            accounts=ACCOUNTS,
            app=ACCOUNTS.x_apps["main"],
            received_at=datetime.now(UTC),
            raw_sha256="0" * 64,
        )
        expected["messages"] += result.messages
        expected["statuses"] += len(result.statuses)
        assert delivery.send(http, url).status_code == 200, path.name
    published = bus()
    assert who_said_what(published.messages) == who_said_what(expected["messages"])
    assert len(published.statuses) == expected["statuses"]
    assert published.rejected == []
