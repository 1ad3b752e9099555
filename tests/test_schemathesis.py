"""Property-based tests of the running server against its own OpenAPI document (schemathesis)."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from app.log.signing import new_seed
from app.models.organizations import PLATFORM_ORG_ID
from tests.browser import ROOT, service_env, uvicorn
from tests.conftest import migrated_database
from tests.db import drop_database

BIN = Path(sys.executable).parent
# Every check but positive_data_acceptance: a schema cannot tell an opaque cursor (or an id that
# names nothing) from a valid one, so data that matches the schema may still rightly be refused.
CHECKS = "all"
EXCLUDED_CHECKS = "positive_data_acceptance"


@pytest.fixture
def database_env() -> Iterator[dict[str, str]]:
    url = migrated_database("pacta_schemathesis")
    try:
        yield service_env(PACTA_DATABASE_URL=url, PACTA_LOG_LEVEL="WARNING", PACTA_LOG_SIGNING_KEY=new_seed())
    finally:
        drop_database(url)


@pytest.fixture
def server(database_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """The real server (uvicorn, the app factory) on a free port; yields its base URL."""
    with uvicorn(database_env, tmp_path / "server.log") as base:
        yield base


def _cli(env: dict[str, str], *args: str, timeout: float = 60) -> str:
    """Run the `pacta` console script and return what it printed on stdout."""
    script = BIN / "pacta"
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "app.cli"]
    result = subprocess.run(  # noqa: S603 - our own console script
        [*command, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _existing_ids(base: str, secret: str) -> dict[str, list[str]]:
    """A few ids of each kind of resource in the database, by the path parameter that names them."""
    headers = {"Authorization": f"Bearer {secret}"}

    def ids(path: str) -> list[str]:
        response = httpx2.get(f"{base}{path}", params={"limit": 3}, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    agreements = ids("/v1/agreements")
    found = {
        "organization_id": [str(PLATFORM_ORG_ID), *ids("/v1/organizations")],
        "agreement_id": agreements,
        "review_id": [i for a in agreements for i in ids(f"/v1/agreements/{a}/legal-reviews")],
        "registration_id": [i for a in agreements for i in ids(f"/v1/agreements/{a}/registrations")],
    }
    return {name: values for name, values in found.items() if values}


def _config(path: Path, ids: dict[str, list[str]]) -> Path:
    """Half the time, path parameters name resources that exist, so reads and changes get past 404."""
    lines = []
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = [{', '.join(repr(v) for v in values)}]", ""]
    # If-Match is required (declared so); without it the answer is 428 Precondition Required.
    lines += ["[checks.missing_required_header]", "expected-statuses = [400, 401, 403, 406, 415, 422, 428]", ""]
    lines.append("[parameters]")
    lines += [f'"path.{name}" = {{ dictionary = "{name}", probability = 0.5 }}' for name in ids]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_api_conforms_to_its_schema(server: str, database_env: dict[str, str], tmp_path: Path) -> None:
    _cli(database_env, "demo", "load", timeout=300)
    secret = _cli(database_env, "keys", "create", "--org", "platform", "--role", "admin", "--name", "schemathesis")
    config = _config(tmp_path / "schemathesis.toml", _existing_ids(server, secret))
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [
            str(BIN / "schemathesis"),
            "--config-file",
            str(config),
            "run",
            f"{server}/openapi.json",
            "--checks",
            CHECKS,
            "--exclude-checks",
            EXCLUDED_CHECKS,
            "--header",
            f"Authorization: Bearer {secret}",
            "--max-examples",
            "30",
            "--phases",
            "examples,coverage,fuzzing",
            # One worker: hypothesis parses lambdas with ast, which CPython 3.11 breaks under threads
            # ("AST constructor recursion depth mismatch", python/cpython#106905).
            "--workers",
            "1",
            "--request-timeout",
            "10",
        ],
        env=service_env(),
        cwd=tmp_path,  # schemathesis and hypothesis keep their caches in the working folder
        capture_output=True,
        text=True,
        timeout=600,  # every check, over the demo story's few hundred resources
        check=False,
    )
    assert result.returncode == 0, f"schemathesis found problems:\n{result.stdout}\n{result.stderr}"
