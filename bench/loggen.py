"""A transparency log of any size, bulk-written with COPY, exactly as app.log would have written it.

Entry 0 is the platform organization's, written by the first migration; entries 1..n-1 record
synthetic `bench_record` resources (a type `pacta log verify` does not reconcile against a table,
so it checks their leaves, stored documents and the tree). Leaf hashes are RFC 9162 hashes of the
RFC 8785 canonical leaf document; every complete subtree of level >= 1 is stored in log_nodes, as
app.log.service._completed stores them on append; log_head.size is set last. The canonical JSON
is spelled by hand here for speed and checked against app.log.hashing on a sample of entries.

The log lives in its own database `pacta_bench_log_<n>` with a marker row, reused by later runs.
Proofs and checkpoints only read, so the bench serves this database as it is (no clone).
"""

import asyncio
import hashlib
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from app.log.hashing import canonical_json, document_sha256, leaf_hash, node_hash, rfc3339
from app.log.service import leaf_document
from app.migrate import upgrade
from app.models import LogEntry
from app.models.organizations import PLATFORM_ORG_ID
from bench.database import schema_fingerprint, with_database
from bench.output import Log

GENERATOR_VERSION = 1
MARKER_TABLE = "bench_log_marker"
BATCH = 50_000
RESOURCE_TYPE = "bench_record"
CHECK_EVERY = 9_973  # entries whose hand-spelled leaf is compared with app.log's own hashing

ENTRY_COLUMNS = (
    "index",
    "at",
    "actor_org_id",
    "action",
    "resource_type",
    "resource_id",
    "resource_sha256",
    "leaf_hash",
)
DETAIL_COLUMNS = ("index", "agreement_id", "document")
NODE_COLUMNS = ("level", "index", "hash")


@dataclass(frozen=True, slots=True)
class BuiltLog:
    url: str
    name: str
    size: int
    reused: bool
    seconds: float
    phases: dict[str, float]


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _entries(first: int, end: int, start_at: datetime, rng: random.Random) -> Iterator[tuple[tuple[object, ...], str]]:
    """(log_entries record, log_details document JSON) for indexes [first, end)."""
    actor = str(PLATFORM_ORG_ID)
    for index in range(first, end):
        rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        document = f'{{"id":"{rid}","kind":"bench","seq":{index}}}'
        digest = hashlib.sha256(document.encode()).hexdigest()
        at = start_at + timedelta(milliseconds=index)
        leaf = (
            f'{{"action":"create","actor_org_id":"{actor}","at":"{rfc3339(at)}","index":{index},'
            f'"resource_id":"{rid}","resource_sha256":"{digest}","resource_type":"{RESOURCE_TYPE}"}}'
        )
        hashed = _sha(b"\x00" + leaf.encode())
        if index % CHECK_EVERY == 0:
            _check(index, at, rid, digest, document, leaf, hashed)
        yield (index, at, PLATFORM_ORG_ID, "create", RESOURCE_TYPE, rid, digest, hashed), document


def _check(index: int, at: datetime, rid: str, digest: str, document: str, leaf: str, hashed: bytes) -> None:
    entry = LogEntry(
        index=index,
        at=at,
        actor_org_id=PLATFORM_ORG_ID,
        action="create",
        resource_type=RESOURCE_TYPE,
        resource_id=rid,
        resource_sha256=digest,
        leaf_hash=b"",
    )
    canonical = canonical_json(leaf_document(entry))
    parsed = {"id": rid, "kind": "bench", "seq": index}
    if (
        canonical != leaf.encode()
        or leaf_hash(canonical) != hashed
        or canonical_json(parsed) != document.encode()
        or document_sha256(parsed) != digest
    ):
        raise AssertionError(f"bench log entry {index} is not spelled as app.log spells it:\n{leaf}\n{canonical!r}")


async def _marker(url: str) -> dict[str, object] | None:
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", MARKER_TABLE):
            return None
        row = await conn.fetchrow(f"SELECT size, generator_version, revision FROM {MARKER_TABLE}")  # noqa: S608
        return None if row is None else dict(row)
    finally:
        await conn.close()


async def fill(url: str, size: int, *, seed: int, log: Log) -> dict[str, float]:
    """Append entries 1..size-1 after the migration's entry 0, with every complete subtree."""
    phases: dict[str, float] = {}
    rng = random.Random(seed)
    conn = await asyncpg.connect(url)
    try:
        head = await conn.fetchval("SELECT size FROM log_head WHERE id = 1")
        if head != 1:
            raise RuntimeError(f"expected a freshly migrated log of 1 entry, found {head}")
        first = await conn.fetchrow("SELECT at, leaf_hash FROM log_entries WHERE index = 0")
        assert first is not None
        start_at = first["at"].astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        leaves: list[bytes] = [bytes(first["leaf_hash"])]
        started = time.perf_counter()
        hashing = 0.0
        async with conn.transaction():
            for batch_start in range(1, size, BATCH):
                t0 = time.perf_counter()
                rows = list(_entries(batch_start, min(size, batch_start + BATCH), start_at, rng))
                hashing += time.perf_counter() - t0
                leaves.extend(r[0][7] for r in rows)  # type: ignore[misc]
                await conn.copy_records_to_table("log_entries", records=[r[0] for r in rows], columns=ENTRY_COLUMNS)
                await conn.copy_records_to_table(
                    "log_details", records=[(r[0][0], None, r[1]) for r in rows], columns=DETAIL_COLUMNS
                )
                if (batch_start // BATCH) % 5 == 4:
                    log(f"  log: {batch_start + len(rows):,} of {size:,} entries written")
            phases["entries (hash + COPY)"] = time.perf_counter() - started
            phases["of which hashing"] = hashing
            t0 = time.perf_counter()
            nodes = 0
            level, below = 0, leaves
            while len(below) >= 2:
                level += 1
                above = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
                for chunk_start in range(0, len(above), BATCH * 4):
                    chunk = above[chunk_start : chunk_start + BATCH * 4]
                    await conn.copy_records_to_table(
                        "log_nodes",
                        records=[(level, chunk_start + i, h) for i, h in enumerate(chunk)],
                        columns=NODE_COLUMNS,
                    )
                nodes += len(above)
                below = above
            phases[f"{nodes:,} nodes (hash + COPY)"] = time.perf_counter() - t0
            await conn.execute("UPDATE log_head SET size = $1 WHERE id = 1", size)
        t0 = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) log_entries, log_details, log_nodes, log_head")
        phases["vacuum analyze"] = time.perf_counter() - t0
    finally:
        await conn.close()
    return phases


async def build(base_url: str, size: int, *, seed: int, log: Log, regenerate: bool = False) -> BuiltLog:
    """The database `pacta_bench_log_<size>`, generated unless a matching one is already there."""
    name = f"pacta_bench_log_{size}"
    url = with_database(base_url, name)
    revision = schema_fingerprint()
    wanted = {"size": size, "generator_version": GENERATOR_VERSION, "revision": revision}
    admin = await asyncpg.connect(base_url)
    try:
        exists = bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
        if exists and not regenerate and await _marker(url) == wanted:
            return BuiltLog(url, name, size, True, 0.0, {})
        log(f"generating a transparency log of {size:,} entries into {name}")
        started = time.perf_counter()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    t0 = time.perf_counter()
    await asyncio.to_thread(upgrade, url)
    phases = {"migrate": time.perf_counter() - t0}
    phases |= await fill(url, size, seed=seed, log=log)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            f"CREATE TABLE {MARKER_TABLE} (size bigint NOT NULL, generator_version int NOT NULL, "
            "revision text NOT NULL, generated_at timestamptz NOT NULL DEFAULT now())"
        )
        await conn.execute(
            f"INSERT INTO {MARKER_TABLE} (size, generator_version, revision) VALUES ($1, $2, $3)",  # noqa: S608
            size,
            GENERATOR_VERSION,
            revision,
        )
    finally:
        await conn.close()
    return BuiltLog(url, name, size, False, time.perf_counter() - started, phases)
