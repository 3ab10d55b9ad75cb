"""With the broker stopped the service answers 503, so the network keeps the delivery."""

from __future__ import annotations

import pytest

from tests.simulators import meta as sim
from tests.support import rabbitmq

PAGE, PSID = "682498302938465", "1254459154682919"


def delivery(mid: str):
    message = sim.text_message(PSID, PAGE, mid, "hello", 1_718_031_234_000)
    return sim.delivery(
        sim.envelope("page", sim.entry(PAGE, 1_718_031_234_000, messaging=[message]))
    )


@pytest.mark.broker_restart
def test_the_broker_stopped_gives_503_and_nothing_is_published(http, service, broker, bus):
    url = f"{service}/webhooks/meta/main"
    assert delivery("m_before").send(http, url).status_code == 200
    rabbitmq.stop_broker()
    try:
        response = delivery("m_during").send(http, url, timeout=30)
        ready = http.get(f"{service}/readyz", timeout=30)
    finally:
        rabbitmq.start_broker()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json() == {"error": "broker unavailable, retry later"}
    assert ready.status_code == 503
    broker.close()
    assert [m["external_id"] for m in bus().messages] == ["m_before"]
    # The network redelivers once we are back: the same app accepts it without a restart.
    assert delivery("m_during").send(http, url).status_code == 200
    assert [m["external_id"] for m in bus().messages] == ["m_during"]
