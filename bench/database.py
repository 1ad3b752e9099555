"""The bench's own PostgreSQL: a generated template database, cloned fresh for every run.

The server is the embedded one under .pacta/bench, or the one BENCH_DATABASE_URL names (any
database on it; the bench creates its own beside it). Not PACTA_*: the service refuses unknown
PACTA_ variables. The generated data set lives in a template database `pacta_bench_<n>` with a
marker row (size, seed, generator version, migration head), so a rerun skips the generation; each
run works on a clone of it, so the agreements one run creates never leak into the next.
"""

import asyncio
import hashlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.embedded import start_embedded
from app.migrate import head_revisions, script_location, upgrade
from bench import generate
from bench.output import Log

ENV_URL = "BENCH_DATABASE_URL"
DATA_DIR = Path(".pacta/bench")
MARKER_TABLE = "bench_dataset"


def server_url() -> str:
    """A URL to some database on the bench server."""
    configured = os.environ.get(ENV_URL)
    if configured:
        return plain(configured)
    return start_embedded(DATA_DIR, database="postgres")


def plain(url: str) -> str:
    """asyncpg wants postgresql:// without a driver name."""
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def schema_fingerprint() -> str:
    """The migration heads and a hash of every migration file: a template built by other
    migrations (or by a migration edited in place) is generated again."""
    digest = hashlib.sha256()
    for path in sorted((script_location() / "versions").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return ",".join(sorted(head_revisions())) + ":" + digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Prepared:
    url: str  # the run's own clone
    template: str
    reused: bool
    report: generate.LoadReport | None
    mismatches: int | None
    clone_seconds: float


async def _exists(admin: asyncpg.Connection, name: str) -> bool:
    return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))


async def _marker(url: str) -> dict[str, object] | None:
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", MARKER_TABLE):
            return None
        row = await conn.fetchrow(f"SELECT agreements, seed, generator_version, revision FROM {MARKER_TABLE}")  # noqa: S608
        return None if row is None else dict(row)
    finally:
        await conn.close()


async def _write_marker(url: str, count: int, seed: int, revision: str, report: generate.LoadReport) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            f"CREATE TABLE {MARKER_TABLE} (agreements int NOT NULL, seed int NOT NULL, generator_version int NOT NULL, "
            "revision text NOT NULL, generated_on date NOT NULL, seconds float8 NOT NULL, generated_at timestamptz "
            "NOT NULL DEFAULT now())"
        )
        await conn.execute(
            f"INSERT INTO {MARKER_TABLE} (agreements, seed, generator_version, revision, generated_on, seconds) "  # noqa: S608
            "VALUES ($1, $2, $3, $4, current_date, $5)",
            count,
            seed,
            generate.GENERATOR_VERSION,
            revision,
            report.seconds,
        )
    finally:
        await conn.close()


async def prepare(count: int, *, seed: int, today: date, regenerate: bool, log: Log) -> Prepared:
    base = server_url()
    template = f"pacta_bench_{count}"
    run_name = f"{template}_run"
    revision = schema_fingerprint()
    admin = await asyncpg.connect(base)
    try:
        reused = False
        if await _exists(admin, template) and not regenerate:
            marker = await _marker(with_database(base, template))
            wanted = {
                "agreements": count,
                "seed": seed,
                "generator_version": generate.GENERATOR_VERSION,
                "revision": revision,
            }
            if marker == wanted:
                reused = True
            else:
                log(f"template {template} is stale ({marker} != {wanted}): generating again")
        report = None
        mismatches = None
        if not reused:
            await admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{template}"')
            url = with_database(base, template)
            # Alembic's env runs its own event loop: keep it off this one's thread.
            await asyncio.to_thread(upgrade, url)
            log(f"generating {count:,} agreements into {template} (seed {seed})...")
            report = await generate.load(url, count, seed=seed, today=today)
            mismatches = await generate.verify_sample(url)
            await _write_marker(url, count, seed, revision, report)
        await admin.execute(f'DROP DATABASE IF EXISTS "{run_name}" WITH (FORCE)')
        loop = asyncio.get_running_loop()
        started = loop.time()
        await admin.execute(f'CREATE DATABASE "{run_name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        clone_seconds = loop.time() - started
    finally:
        await admin.close()
    return Prepared(with_database(base, run_name), template, reused, report, mismatches, clone_seconds)


async def drop(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(with_database(url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
