"""Every endpoint needs a signed-in agent; sessions need CSRF; admin endpoints need an admin."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.integration.inbox.api_support import PASSWORD, make_agent


def every_operation(client) -> list[tuple[str, str]]:
    spec = client.get("/api/openapi.json").get_json()
    operations = []
    for path, item in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        operations.extend((method.upper(), concrete) for method in item if method != "parameters")
    return operations


def test_no_endpoint_answers_without_auth(client):
    operations = every_operation(client)
    assert len(operations) > 20
    for method, path in operations:
        if (method, path) == ("POST", "/api/v1/session"):
            continue
        response = client.open(path, method=method, json={})
        assert response.status_code == 401, (method, path, response.status_code)


def test_a_wrong_or_revoked_token_is_refused(client, pool):
    caller = make_agent(pool, "ann@example.com")
    assert (
        client.get("/api/v1/session", headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    token_id = caller.get(client, "/api/v1/tokens").get_json()[0]["id"]
    assert caller.send(client, "DELETE", f"/api/v1/tokens/{token_id}").status_code == 204
    assert caller.get(client, "/api/v1/session").status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            "/api/v1/agents",
            {"email": "x@example.com", "display_name": "X", "password": "12345678"},
        ),
        ("PATCH", "/api/v1/agents/{agent}", {"role": "admin"}),
        ("PATCH", "/api/v1/inboxes/{uuid}", {"name": "Renamed"}),
        ("DELETE", "/api/v1/canned-responses/{uuid}", None),
    ],
)
def test_an_agent_token_cannot_use_admin_endpoints(client, pool, method, path, body):
    caller = make_agent(pool, "ann@example.com")
    path = path.format(agent=caller.agent["id"], uuid=uuid.uuid4())
    response = caller.send(client, method, path, body)
    assert response.status_code == 403
    assert response.get_json()["message"] == "admins only"


def test_an_admin_creates_agents_who_can_then_sign_in(client, pool):
    admin = make_agent(pool, "root@example.com", role="admin")
    body = {"email": "Bea@Example.com", "display_name": "Bea", "password": "a long password"}
    created = admin.send(client, "POST", "/api/v1/agents", body)
    assert created.status_code == 201
    assert created.get_json()["role"] == "agent"
    again = admin.send(client, "POST", "/api/v1/agents", body)
    assert again.status_code == 409
    login = client.post(
        "/api/v1/session", json={"email": "bea@example.com", "password": "a long password"}
    )
    assert login.status_code == 200


def test_a_session_needs_the_csrf_token_to_change_anything(client, pool):
    make_agent(pool, "ann@example.com")
    wrong = client.post("/api/v1/session", json={"email": "ann@example.com", "password": "nope"})
    assert wrong.status_code == 401
    login = client.post("/api/v1/session", json={"email": "ann@example.com", "password": PASSWORD})
    csrf = login.get_json()["csrf_token"]
    assert client.get("/api/v1/conversations").status_code == 200
    assert client.post("/api/v1/tokens", json={"name": "cli"}).status_code == 403
    created = client.post("/api/v1/tokens", json={"name": "cli"}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    assert created.get_json()["token"].startswith("sbt_")
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/conversations").status_code == 401


def test_the_docs_are_served_offline(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert b"https://" not in page.data.replace(b"https://swagger.io", b"")
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/openapi.json").get_json()["info"]["title"] == "Switchboard inbox"
