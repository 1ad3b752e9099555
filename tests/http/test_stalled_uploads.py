"""Stalled uploads against a served app, over real sockets (issue 9, items 1 and 2).

Uvicorn serves the app in a thread, with its real lifespan (its own pool: one
connection) on a database of its own whose writes commit. Six uploads announce 10 MB, send 5 KB
and go silent: six times the pool. Reads must still answer at once, and the uploading key
must be revocable at once.
"""

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest
import uvicorn
from pydantic import SecretStr

from app.api_keys import service as key_service
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.main import create_app
from app.models import Role
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from tests import conftest
from tests.conftest import bearer
from tests.db import drop_database
from tests.factories import agreement_body, iso

pytestmark = pytest.mark.slow

STALLED = 6


@dataclass(frozen=True, slots=True)
class Served:
    base_url: str
    port: int
    admin: dict[str, str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def committed_url() -> Iterator[str]:
    url = conftest.migrated_database("pacta_stalls")
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
async def served(committed_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    engine = make_engine(committed_url, pool_size=1)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            platform = await org_service.get_organization(session, PLATFORM_ORG_ID)
            _, secret = await key_service.issue_key(
                session, platform, role=Role.admin, name="stalls", expires_at=None, actor_org_id=PLATFORM_ORG_ID
            )
    finally:
        await engine.dispose()
    settings = conftest.test_settings(db_pool_size=1, storage_url=(tmp_path / "evidence").as_uri())
    settings = settings.model_copy(update={"database_url": SecretStr(committed_url)})
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        assert thread.is_alive(), "the server stopped"
        await asyncio.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", port, bearer(secret))
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 30)


async def stall_upload(port: int, path: str, headers: dict[str, str]) -> asyncio.StreamWriter:
    """An upload that announces 10 MB, sends 5 KB of it and then says nothing."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: multipart/form-data; boundary=stall",
        "Content-Length: 10000000",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    part = (
        b'--stall\r\nContent-Disposition: form-data; name="title"\r\n\r\nInforme\r\n'
        b'--stall\r\nContent-Disposition: form-data; name="document_type"\r\n\r\nprogress_report\r\n'
        b'--stall\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.7\n'
    )
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + part + b"%" * (5000 - len(part)))
    await writer.drain()
    return writer


async def test_stalled_uploads_neither_block_reads_nor_the_revocation_of_their_key(served: Served) -> None:
    async with httpx2.AsyncClient(base_url=served.base_url, timeout=10) as client:
        org = await client.post(
            "/v1/organizations",
            json={"name": "Municipio de Zapopan", "kind": "municipality", "inegi_code": "14120"},
            headers=served.admin,
        )
        assert org.status_code == 201, org.text
        org_id = org.json()["id"]
        key = await client.post(f"/v1/organizations/{org_id}/api-keys", json={"role": "editor"}, headers=served.admin)
        assert key.status_code == 201, key.text
        editor = bearer(key.json()["secret"])
        created = await client.post(
            "/v1/agreements",
            json=agreement_body(org_id, signed_on=iso(-30, base=datetime.now(UTC).date())),
            headers=editor,
        )
        assert created.status_code == 201, created.text
        agreement_id = created.json()["id"]

        writers = [
            await stall_upload(served.port, f"/v1/agreements/{agreement_id}/evidence", editor) for _ in range(STALLED)
        ]
        try:
            await asyncio.sleep(0.5)  # every upload is past authentication and waiting on its body
            latencies = []
            for _ in range(5):
                started = time.perf_counter()
                read = await client.get(f"/v1/agreements/{agreement_id}")
                latencies.append(time.perf_counter() - started)
                assert read.status_code == 200, read.text
            assert max(latencies) < 1, latencies

            started = time.perf_counter()
            revoked = await client.delete(
                f"/v1/organizations/{org_id}/api-keys/{key.json()['id']}", headers=served.admin
            )
            assert revoked.status_code == 204, revoked.text
            assert time.perf_counter() - started < 1
            refused = await client.get("/v1/organizations", headers=editor)
            assert refused.status_code == 401
        finally:
            for writer in writers:
                writer.close()
