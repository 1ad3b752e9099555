"""`python -m bench.workspace_upload [--runs N] [--mib M]`: a 20 MiB evidence upload through the
workspace's form (session cookie, CSRF token in the action, a browser's multipart body with every
field) against the same upload through the API (Bearer key): time, and the server's peak RSS
during each upload (VmHWM reset before it; sampled RSS as a fallback). Figures only, nothing asserted.

Runs on its own database (created on BENCH_DATABASE_URL's server, or the bench's embedded one, and
dropped at the end) and its own service process (uvicorn, one worker). The two paths alternate, so
neither gets a warmer server.
"""

import argparse
import asyncio
import os
import re
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

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
from bench.server import Server
from bench.uploads import MIB, Body, memory, multipart, random_pdf, reset_peak

SAMPLE_SECONDS = 0.01


def browser_form(fields: dict[str, str], filename: str, size: int, chunks: Iterable[bytes]) -> Body:
    """A multipart body as a browser sends the workspace's form: the file first, then every field
    (the empty ones too), with a WebKit-style boundary."""
    boundary = "----WebKitFormBoundary" + uuid.uuid4().hex[:16]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = (
        b"".join(
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode()
            for name, value in fields.items()
        )
        + f"\r\n--{boundary}--\r\n".encode()
    )

    async def parts() -> AsyncIterator[bytes]:
        yield head
        for chunk in chunks:
            yield chunk
        yield tail

    return Body(
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size + len(tail)),
        },
        parts=parts(),
    )


@dataclass(frozen=True, slots=True)
class Cast:
    agreement_id: str
    editor: str
    contributor: str


async def _cast(base: str, url: str) -> Cast:
    engine = make_engine(url, pool_size=1)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            platform = await org_service.get_organization(session, PLATFORM_ORG_ID)
            _, admin = await key_service.issue_key(
                session, platform, role=Role.admin, name="bench", expires_at=None, actor_org_id=PLATFORM_ORG_ID
            )
    finally:
        await engine.dispose()

    async with httpx2.AsyncClient(base_url=base, timeout=60, headers={"Authorization": f"Bearer {admin}"}) as c:

        async def post(path: str, body: dict[str, object]) -> dict[str, str]:
            response = await c.post(path, json=body)
            assert response.status_code == 201, response.text
            created: dict[str, str] = response.json()
            return created

        town = await post(
            "/v1/organizations", {"name": "Municipio de Zapopan", "kind": "municipality", "inegi_code": "14120"}
        )
        uni = await post("/v1/organizations", {"name": "Universidad (bench)", "kind": "university"})
        editor = await post(f"/v1/organizations/{town['id']}/api-keys", {"role": "editor"})
        contributor = await post(f"/v1/organizations/{uni['id']}/api-keys", {"role": "contributor"})
        agreement = await post(
            "/v1/agreements",
            {
                "title": "Hermanamiento (bench)",
                "instrument": "sister_city",
                "signatory_org_id": town["id"],
                "counterparts": [{"name": "Kraków", "kind": "foreign_government_body", "country": "PL"}],
                "participant_org_ids": [uni["id"]],
                "signed_on": "2025-01-15",
            },
        )
    return Cast(agreement["id"], editor["secret"], contributor["secret"])


@dataclass(frozen=True, slots=True)
class Run:
    path: str
    status: int
    seconds: float
    before: int
    peak: int


async def _measure(
    client: httpx2.AsyncClient, server: Server, path: str, url: str, form: Body, headers: dict[str, str]
) -> Run:
    pid = server.process.pid
    await asyncio.sleep(0.3)
    before = memory(pid)["VmRSS"]
    reset = reset_peak(pid)
    samples: list[int] = []
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            samples.append(memory(pid)["VmRSS"])
            await asyncio.sleep(SAMPLE_SECONDS)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    response = await client.post(url, content=form.parts, headers=headers | form.headers)
    seconds = time.perf_counter() - started
    done.set()
    await sampler
    after = memory(pid)
    peak = max(after["VmHWM"] if reset else 0, max(samples, default=0))
    if response.status_code >= 400:
        print(f"  {path}: {response.status_code} {response.text[-600:]}")
    return Run(path, response.status_code, seconds, before, peak)


async def main(runs: int, mib: int) -> None:
    name = f"pacta_bench_workspace_{uuid.uuid4().hex[:8]}"
    admin_url = server_url()
    admin = await asyncpg.connect(plain(admin_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(admin_url, name)
    storage = Path(tempfile.mkdtemp(prefix="pacta-bench-workspace-"))
    try:
        await asyncio.to_thread(upgrade, url)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PACTA_")},
            "PACTA_DATABASE_URL": url,
            "PACTA_STORAGE_URL": storage.as_uri(),
            "PACTA_LOG_SIGNING_KEY": new_seed(),
            "PACTA_LOG_LEVEL": "WARNING",
        }
        target = ["app.main:create_app", "--factory"]
        with Server("pacta-workspace-bench", target, env, storage / "logs", "/readyz") as server:
            await asyncio.to_thread(server.wait_ready)
            cast = await _cast(server.base_url, url)
            await _compare(server, cast, runs, mib)
    finally:
        shutil.rmtree(storage, ignore_errors=True)
        admin = await asyncpg.connect(plain(admin_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def _compare(server: Server, cast: Cast, runs: int, mib: int) -> None:
    size = mib * MIB
    api_url = f"{server.base_url}/v1/agreements/{cast.agreement_id}/evidence"
    bearer = {"Authorization": f"Bearer {cast.contributor}"}
    results: list[Run] = []
    async with httpx2.AsyncClient(timeout=600) as client:
        signed_in = await client.post(f"{server.base_url}/workspace/login", data={"api_key": cast.contributor})
        assert signed_in.status_code == 303, signed_in.text
        cookie = {"Cookie": f"pacta_session={signed_in.cookies['pacta_session']}"}
        page = await client.get(f"{server.base_url}/workspace/agreements/{cast.agreement_id}/evidence", headers=cookie)
        found = re.search(r'action="([^"]*/evidence\?csrf=[^"]+)"', page.text)
        assert found is not None, page.text[:500]
        form_url = server.base_url + found.group(1).replace("&amp;", "&")
        # Every field of the page's form, as a browser sends them: the optional ones empty.
        fields = dict.fromkeys(("title", "target_id", "document_date", "language", "description"), "")
        fields["document_type"] = "attendance_list"
        for n in range(runs + 1):  # the first pair warms the server up and is not counted
            for path in ("api", "workspace"):
                titled = fields | {"title": f"Lista de asistencia {path} {n}"}
                if path == "api":
                    # The API client sends only the fields it gives, then the file.
                    given = {name: value for name, value in titled.items() if value}
                    form = multipart(given, f"lista-{n}.pdf", size, random_pdf(size))
                    run = await _measure(client, server, path, api_url, form, bearer)
                else:
                    form = browser_form(titled, f"lista-{n}.pdf", size, random_pdf(size))
                    run = await _measure(client, server, path, form_url, form, cookie)
                expected = 201 if path == "api" else 303
                if run.status != expected:
                    print(f"  ERROR {path} upload {n}: {run.status}")
                if n:
                    results.append(run)
    print(f"{mib} MiB PDF uploads, {runs} of each, alternating (contributor key / its workspace session):")
    columns = ("status", 6), ("seconds", 8), ("MiB/s", 7), ("RSS before", 11), ("peak RSS", 9), ("peak - before", 14)
    print(f"  {'path':<10} " + " ".join(f"{name:>{width}}" for name, width in columns))
    for r in results:
        print(
            f"  {r.path:<10} {r.status:>6} {r.seconds:>8.3f} {mib / r.seconds:>7.0f} "
            f"{r.before / MIB:>9.1f}Mi {r.peak / MIB:>7.1f}Mi {(r.peak - r.before) / MIB:>12.1f}Mi"
        )
    for path in ("api", "workspace"):
        mine = [r for r in results if r.path == path]
        seconds = [r.seconds for r in mine]
        print(
            f"  {path:<10} median {statistics.median(seconds):.3f} s ({mib / statistics.median(seconds):.0f} MiB/s), "
            f"max peak RSS {max(r.peak for r in mine) / MIB:.1f} MiB, "
            f"max growth {max(r.peak - r.before for r in mine) / MIB:.1f} MiB"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mib", type=int, default=20)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.mib))
