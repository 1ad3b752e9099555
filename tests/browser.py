"""The real service for the tests that need one running (browsers, schemathesis): uvicorn with
the app factory, on a free port and a database of its own, ready when /readyz answers; stopped
and its database dropped afterwards."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

from app.log.signing import new_seed
from tests.conftest import migrated_database
from tests.db import drop_database

ROOT = Path(__file__).resolve().parents[1]
UVICORN = [
    sys.executable,
    "-m",
    "uvicorn",
    "app.main:create_app",
    "--factory",
    "--host",
    "127.0.0.1",
    "--no-access-log",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service_env(**settings: str) -> dict[str, str]:
    """This process's environment without its PACTA_* settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PACTA_")}
    env.update(settings, NO_COLOR="1")
    return env


@dataclass(frozen=True, slots=True)
class Served:
    base: str
    database_url: str


@contextmanager
def served(prefix: str) -> Iterator[Served]:
    """The service on a free port, on a fresh migrated database named after `prefix`."""
    database_url = migrated_database(prefix)
    storage = Path(tempfile.mkdtemp(prefix=f"{prefix}-evidence-"))
    log_path = storage.parent / f"{storage.name}.log"
    env = service_env(
        PACTA_DATABASE_URL=database_url,
        PACTA_LOG_SIGNING_KEY=new_seed(),
        PACTA_STORAGE_URL=storage.as_uri(),
        PACTA_LOG_LEVEL="WARNING",
    )
    try:
        with uvicorn(env, log_path) as base:
            yield Served(base, database_url)
    finally:
        drop_database(database_url)
        shutil.rmtree(storage, ignore_errors=True)
        log_path.unlink(missing_ok=True)


@contextmanager
def uvicorn(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """uvicorn with the app factory on a free port, its output in `log_path`; yields its base URL
    once /readyz answers, and stops it afterwards."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [*UVICORN, "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx2.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, f"the server did not become ready:\n{log_path.read_text()}"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
