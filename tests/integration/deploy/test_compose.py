"""docker-compose.yml as the real docker-compose binary resolves it (no Docker engine needed)."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
COMPOSE_FILE = REPO / "docker-compose.yml"
BLOB_DIR = "/var/lib/switchboard/blobs"
ONE_SHOT = {"migrate"}
# Run with --scale: a fixed name or host port would make the second replica fail to start.
SCALABLE = {"inbox-worker", "notifier", "email-ingest-imap"}
# The only host ports: the entry points and the operator UIs.
HOST_PORTS = {
    "inbox-api": {8000},
    "email-ingest": {8001},
    "social-ingest": {8002},
    "mailpit": {8025},
    "rabbitmq": {15672},
}
HEALTH_URL_PORT = re.compile(r"http://127\.0\.0\.1:(\d+)/healthz")


@pytest.fixture(scope="module")
def services(docker_compose: str, minimal_env: dict[str, str], tmp_path_factory) -> dict:
    """Every service (all profiles) as `docker-compose config` resolves it, anchors merged."""
    empty_env_file = tmp_path_factory.mktemp("compose") / "empty.env"
    empty_env_file.write_text("")  # the placeholder defaults, not a developer's .env
    options = ["--env-file", str(empty_env_file), "--profile", "*"]
    result = subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), *options, "config", "--format", "json"],
        capture_output=True,
        text=True,
        env=minimal_env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return json.loads(result.stdout)["services"]


def switchboard_services(services: dict) -> dict:
    """The services that run the Switchboard image (everything but broker, database, mail)."""
    image = services["migrate"]["image"]
    return {name: s for name, s in services.items() if s["image"] == image}


def test_every_process_is_a_service(services):
    assert set(services) == {
        "rabbitmq",
        "postgres",
        "mailpit",
        "migrate",
        "inbox-api",
        "inbox-worker",
        "email-ingest",
        "email-ingest-imap",
        "social-ingest",
        "notifier",
    }


def test_every_long_running_service_has_a_healthcheck(services):
    for name, service in services.items():
        if name in ONE_SHOT:
            continue
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_migrate_runs_once_before_every_switchboard_service(services):
    assert services["migrate"]["restart"] == "no"
    for name, service in switchboard_services(services).items():
        if name not in ONE_SHOT:
            assert service["depends_on"]["migrate"]["condition"] == (
                "service_completed_successfully"
            ), name


def test_every_dependency_waits_for_health_or_completion(services):
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            if dependency in ONE_SHOT:
                assert spec["condition"] == "service_completed_successfully", (name, dependency)
            else:
                assert spec["condition"] == "service_healthy", (name, dependency)
                assert "healthcheck" in services[dependency], (name, dependency)


def test_no_fixed_container_names(services):
    named = [name for name, service in services.items() if "container_name" in service]
    assert named == [], "container_name stops `docker compose up --scale`"


def test_host_ports_only_on_entry_points(services):
    for name, service in services.items():
        published = {int(port["published"]) for port in service.get("ports", [])}
        assert published == HOST_PORTS.get(name, set()), name
    assert SCALABLE.isdisjoint(HOST_PORTS)


def test_every_switchboard_service_mounts_the_blob_volume(services):
    for name, service in switchboard_services(services).items():
        mounts = {(v["type"], v["source"], v["target"]) for v in service.get("volumes", [])}
        assert ("volume", "blobs", BLOB_DIR) in mounts, name
        assert service["environment"]["SWITCHBOARD_BLOB_DIR"] == BLOB_DIR, name


def test_healthchecks_probe_the_port_each_process_listens_on(services):
    for name, service in switchboard_services(services).items():
        if name in ONE_SHOT:
            continue
        probe = " ".join(service["healthcheck"]["test"])
        (probed,) = HEALTH_URL_PORT.findall(probe)
        command = service["command"]
        if command[0] == "gunicorn":
            listens = command[command.index("--bind") + 1].rsplit(":", 1)[1]
            targets = {str(port["target"]) for port in service["ports"]}
            assert targets == {listens}, name
        else:
            (listens,) = [
                value
                for key, value in service["environment"].items()
                if key.endswith("_HEALTH_PORT")
            ]
        assert probed == listens, name


def test_gunicorn_is_a_dependency_of_every_http_service_that_exists(services):
    # The image installs only what pyproject.toml files declare; compose runs gunicorn.
    shared = tomllib.loads((REPO / "shared/pyproject.toml").read_text())["project"]
    for name, service in services.items():
        if (service.get("command") or [None])[0] != "gunicorn":
            continue
        package = service["command"][-1].split(".", 1)[0]
        project_dir = REPO / "services" / package.replace("_", "-")
        if not (project_dir / "src" / package / "wsgi.py").exists():
            continue  # the service has not landed yet
        project = tomllib.loads((project_dir / "pyproject.toml").read_text())["project"]
        declared = {
            re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower()
            for d in project["dependencies"] + shared["dependencies"]
        }
        assert "gunicorn" in declared, f"{name}: add gunicorn to {project_dir.name}'s dependencies"
