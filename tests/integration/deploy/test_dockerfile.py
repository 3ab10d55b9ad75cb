"""Every Dockerfile in the repo passes hadolint; the image's build context holds what it copies."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SKIP_DIRS = {".git", ".venv", "node_modules", "var", ".pytest_cache", ".ruff_cache"}


def find_dockerfiles() -> list[Path]:
    """Dockerfile, *.Dockerfile and Dockerfile.* anywhere in the repo, tracked or not."""
    found = []
    for path in REPO.rglob("*Dockerfile*"):
        if SKIP_DIRS.intersection(path.relative_to(REPO).parts) or not path.is_file():
            continue
        if path.name.endswith(".dockerignore"):
            continue
        found.append(path)
    return sorted(found)


DOCKERFILES = find_dockerfiles()


def test_the_service_image_is_among_them():
    assert REPO / "deploy" / "Dockerfile" in DOCKERFILES


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_hadolint_passes(dockerfile: Path, hadolint: str, minimal_env: dict[str, str]):
    # Style-level findings fail too; a justified exception is an inline `# hadolint ignore=`.
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=minimal_env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"hadolint {dockerfile}:\n{result.stdout}{result.stderr}"


def test_the_build_context_holds_every_copied_path():
    # .dockerignore is an allowlist: a COPY of a path it leaves out fails only in `docker build`,
    # which this machine cannot run.
    allowed = [
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    for line in dockerfile.splitlines():
        words = line.split()
        if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
            continue
        for source in (w.rstrip("/") for w in words[1:-1] if not w.startswith("--")):
            assert (REPO / source).exists(), f"COPY {source}: no such path"
            assert any(source == a or source.startswith(a + "/") for a in allowed), (
                f"COPY {source}: .dockerignore leaves it out of the build context"
            )
