"""`python -m bench.hostile` (or `make bench-hostile`): the figures of issue 9's closing note.

1. Public read latency (p50/p99) with 30 stalled uploads open (each announces 10 MB, sends
   5 KB, then says nothing), against the same reads with none open.
2. Time to refuse a flood of 40,000 empty multipart parts, against the time to accept one file
   of the same size; and the slowest /healthz answer meanwhile.
3. Seconds from a restart to the last retried write completing, after `kill -9` of the server
   under write load (clients retry with the same Idempotency-Key until they get an answer).

Everything runs on 127.0.0.1: a fresh database on the bench server (BENCH_DATABASE_URL, else
the embedded one), migrated, and one uvicorn process. Loops are bounded; figures are printed,
nothing is asserted.
"""

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx2

from app.api_keys import service as key_service
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.log.signing import new_seed
from app.migrate import upgrade
from app.models import Role
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from bench.database import plain, server_url, with_database
from bench.server import free_port

STALLED = 30
READS = 200
FLOOD_PARTS = 40_000
WRITERS = 16
WRITES_BEFORE_KILL = 1.5  # seconds of write load before the kill
RETRY_PAUSE = 0.1
RETRY_LIMIT = 600  # at most a minute of retries per write


class Uvicorn:
    """The service in a uvicorn process on a fixed loopback port (so it can be restarted on it)."""

    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.port = port
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "app.main:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--no-access-log",
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx2.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the server did not become ready:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


async def raw_post(port: int, path: str, headers: dict[str, str], body: bytes) -> tuple[int, float]:
    """Send a request on a raw socket while reading the answer, as a client that keeps writing
    until the server answers (or closes). Returns the status and the seconds until it arrived."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    started = time.perf_counter()

    async def write() -> None:
        try:
            writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
            for i in range(0, len(body), 64 * 1024):
                writer.write(body[i : i + 64 * 1024])
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the server answered and closed before taking it all

    sending = asyncio.create_task(write())
    status_line = await reader.readline()
    elapsed = time.perf_counter() - started
    sending.cancel()
    writer.close()
    return int(status_line.split()[1]), elapsed


def form(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = bytearray()
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return bytes(out + f"--{boundary}--\r\n".encode())


async def stalled_uploads(base: str, agreement_id: str, headers: dict[str, str]) -> dict[str, Any]:
    port = int(base.rsplit(":", 1)[1])
    async with httpx2.AsyncClient(base_url=base, timeout=60) as client:

        async def reads() -> list[float]:
            took = []
            for _ in range(READS):
                started = time.perf_counter()
                response = await client.get(f"/v1/agreements/{agreement_id}")
                took.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
            return took

        calm = await reads()
        writers = []
        part = (
            b'--s\r\nContent-Disposition: form-data; name="title"\r\n\r\nInforme\r\n'
            b'--s\r\nContent-Disposition: form-data; name="document_type"\r\n\r\nprogress_report\r\n'
            b'--s\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.7\n'
        )
        auth = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        for _ in range(STALLED):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                (
                    f"POST /v1/agreements/{agreement_id}/evidence HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
                    "Content-Type: multipart/form-data; boundary=s\r\nContent-Length: 10000000\r\n\r\n"
                ).encode()
                + part
                + b"%" * (5000 - len(part))
            )
            await writer.drain()
            writers.append(writer)
        await asyncio.sleep(1)
        stalled = await reads()
        for writer in writers:
            writer.close()
    return {"calm": calm, "stalled": stalled}


async def flood_against_file(base: str, agreement_id: str, headers: dict[str, str]) -> dict[str, Any]:
    port = int(base.rsplit(":", 1)[1])
    path = f"/v1/agreements/{agreement_id}/evidence"
    flood = (b'--f\r\nContent-Disposition: form-data; name="x"\r\n\r\n\r\n' * FLOOD_PARTS) + b"--f--\r\n"
    head = form("f", [("title", None, b"Informe"), ("document_type", None, b"progress_report")])[: -len(b"--f--\r\n")]
    tail = b"\r\n--f--\r\n"
    file_head = b'--f\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n\r\n%PDF-1.7\n'
    filler = len(flood) - len(head) - len(file_head) - len(tail)
    one_file = head + file_head + os.urandom(filler // 2).hex().encode()[:filler] + tail
    healthz: list[float] = []
    stop = asyncio.Event()

    async def poll_health() -> None:
        async with httpx2.AsyncClient(base_url=base, timeout=30) as client:
            while not stop.is_set():
                started = time.perf_counter()
                await client.get("/healthz")
                healthz.append(time.perf_counter() - started)
                await asyncio.sleep(0.01)

    def sent(body: bytes) -> dict[str, str]:
        return {**headers, "Content-Type": "multipart/form-data; boundary=f", "Content-Length": str(len(body))}

    polling = asyncio.create_task(poll_health())
    flood_runs = [await raw_post(port, path, sent(flood), flood) for _ in range(5)]
    file_runs = []
    for _ in range(5):
        body = one_file.replace(b"%PDF-1.7\n", b"%PDF-1.7\n" + uuid.uuid4().hex.encode()[:8], 1)
        body = body[: len(flood) - len(tail)] + tail if len(body) > len(flood) else body
        file_runs.append(await raw_post(port, path, sent(body), body))
    stop.set()
    await polling
    return {"size": len(flood), "flood": flood_runs, "file": file_runs, "healthz": healthz}


async def kill_under_load(server: Uvicorn, admin: dict[str, str]) -> dict[str, Any]:
    base = f"http://127.0.0.1:{server.port}"
    restarted_at: list[float] = []
    finished: list[float] = []
    outcomes: dict[str, int] = {}
    killed = asyncio.Event()

    async def one_write(client: httpx2.AsyncClient) -> None:
        key = uuid.uuid4().hex
        body = {"name": f"Bench hostile {key}", "kind": "university"}
        for _ in range(RETRY_LIMIT):
            try:
                response = await client.post(
                    "/v1/organizations", json=body, headers={**admin, "Idempotency-Key": key}, timeout=10
                )
            except httpx2.TransportError:
                await asyncio.sleep(RETRY_PAUSE)
                continue
            if response.status_code == 409 and response.json().get("type") == "/problems/idempotency-in-flight":
                outcomes["waited (409 in flight)"] = outcomes.get("waited (409 in flight)", 0) + 1
                await asyncio.sleep(RETRY_PAUSE)
                continue
            label = str(response.status_code) + (" replayed" if response.headers.get("idempotent-replayed") else "")
            if response.status_code == 409:
                label = "409 " + response.json()["type"].rsplit("/", 1)[-1]
            outcomes[label] = outcomes.get(label, 0) + 1
            if killed.is_set():
                finished.append(time.monotonic())
            return
        outcomes["gave up"] = outcomes.get("gave up", 0) + 1

    async def writer() -> None:
        async with httpx2.AsyncClient(base_url=base) as client:
            while not killed.is_set():
                await one_write(client)

    tasks = [asyncio.create_task(writer()) for _ in range(WRITERS)]
    await asyncio.sleep(WRITES_BEFORE_KILL)
    server.kill()
    killed.set()
    restarted_at.append(time.monotonic())
    server.start()
    await asyncio.to_thread(server.wait_ready)
    ready_at = time.monotonic()
    await asyncio.gather(*tasks)
    return {
        "ready": ready_at - restarted_at[0],
        "last": (max(finished) - restarted_at[0]) if finished else None,
        "retried": len(finished),
        "outcomes": outcomes,
    }


async def prepare(url: str, log_seed: str, work: Path) -> tuple[Uvicorn, dict[str, str], dict[str, str], str]:
    engine = make_engine(url, pool_size=1)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            platform = await org_service.get_organization(session, PLATFORM_ORG_ID)
            _, secret = await key_service.issue_key(
                session, platform, role=Role.admin, name="bench", expires_at=None, actor_org_id=PLATFORM_ORG_ID
            )
    finally:
        await engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACTA_")}
    env.update(
        {
            "PACTA_DATABASE_URL": url,
            "PACTA_DATA_DIR": str(work),
            "PACTA_STORAGE_URL": (work / "evidence").as_uri(),
            "PACTA_LOG_SIGNING_KEY": log_seed,
            "PACTA_LOG_LEVEL": "WARNING",
        }
    )
    server = Uvicorn(free_port(), env, work / "server.log")
    started = time.monotonic()
    server.start()
    await asyncio.to_thread(server.wait_ready)
    print(f"(first start to ready: {time.monotonic() - started:.2f} s)")
    admin = {"Authorization": f"Bearer {secret}"}
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
        org = await client.post(
            "/v1/organizations",
            json={"name": "Municipio de Zapopan", "kind": "municipality", "inegi_code": "14120"},
            headers=admin,
        )
        org_id = org.json()["id"]
        key = await client.post(f"/v1/organizations/{org_id}/api-keys", json={"role": "editor"}, headers=admin)
        editor = {"Authorization": f"Bearer {key.json()['secret']}"}
        signed = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
        agreement = await client.post(
            "/v1/agreements",
            json={
                "title": "Hermanamiento Zapopan - Kraków",
                "instrument": "sister_city",
                "signatory_org_id": org_id,
                "counterparts": [{"name": "Kraków", "kind": "foreign_government_body", "country": "PL"}],
                "subject_areas": ["culture"],
                "languages": ["es", "pl"],
                "signed_on": signed,
            },
            headers=editor,
        )
        assert agreement.status_code == 201, agreement.text
    return server, admin, editor, agreement.json()["id"]


async def main() -> None:
    base = server_url()
    name = f"pacta_hostile_{uuid.uuid4().hex[:8]}"
    admin_conn = await asyncpg.connect(with_database(base, "postgres"))
    try:
        await admin_conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin_conn.close()
    url = plain(with_database(base, name))
    with ThreadPoolExecutor(1) as pool:  # Alembic runs its own event loop
        pool.submit(upgrade, url).result()
    work = Path(tempfile.mkdtemp(prefix="pacta-hostile-"))
    server: Uvicorn | None = None
    try:
        server, admin, editor, agreement_id = await prepare(url, new_seed(), work)
        base_url = f"http://127.0.0.1:{server.port}"

        reads = await stalled_uploads(base_url, agreement_id, editor)
        print(f"## Public reads ({READS} sequential GET /v1/agreements/{{id}}, anonymous)")
        for label, key in (("no uploads open", "calm"), (f"{STALLED} stalled uploads open", "stalled")):
            values = reads[key]
            print(
                f"- {label}: p50 {ms(statistics.median(values))}, p99 {ms(percentile(values, 0.99))}, "
                f"max {ms(max(values))}"
            )

        flood = await flood_against_file(base_url, agreement_id, editor)
        print(f"\n## {FLOOD_PARTS:,} empty parts against one file, both {flood['size']:,} bytes (5 runs each)")
        for label, key in (("flood refused", "flood"), ("file accepted", "file")):
            runs = flood[key]
            statuses = sorted({status for status, _ in runs})
            print(f"- {label} ({statuses}): median {ms(statistics.median(t for _, t in runs))}")
        health = flood["healthz"]
        print(f"- /healthz meanwhile ({len(health)} calls): p50 {ms(statistics.median(health))}, max {ms(max(health))}")

        crash = await kill_under_load(server, admin)
        print(f"\n## kill -9 under write load ({WRITERS} writers, Idempotency-Key retries every {RETRY_PAUSE} s)")
        print(f"- restart to ready (process start and imports included): {crash['ready']:.2f} s")
        last = crash["last"]
        print(
            f"- restart to the last retried write completing: "
            f"{'n/a' if last is None else f'{last:.2f} s'} ({crash['retried']} writes in flight at the kill)"
        )
        if last is not None:
            print(f"- ready to the last retried write completing: {last - crash['ready']:.2f} s")
        print(f"- answers: {crash['outcomes']}")
    finally:
        if server is not None:
            server.stop()
        admin_conn = await asyncpg.connect(with_database(base, "postgres"))
        try:
            await admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin_conn.close()


if __name__ == "__main__":
    asyncio.run(main())
