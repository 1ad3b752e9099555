"""The ceiling reference: raw ASGI + asyncpg + orjson, one endpoint per hot read.

What the machine can do for a JSON read, with nothing Pacta adds: no framework, no derived
fields, no visibility rule, no cursor, no validation, rows written by orjson:

- /v1/agreements: 50 rows of the agreements table's stored columns in the list's order (only
  "signed"), and /v1/agreements/{id} one row by id;
- /v1/agreements/{id}/targets: the stored columns of the agreement's targets (no evaluation);
- /v1/log/entries?start=&end=: the stored columns of the log's entries in the range;
- /v1/compliance/findings and /v1/deadlines: the endpoint's very SQL (today, the configured grace
  and dormancy, every rule or the whole registry, first page of 50) as rows, without the texts
  Pacta writes around them.

Each Pacta endpoint's throughput is printed as a ratio to its reference. Serve it with
`python -m uvicorn bench.raw:app --host 127.0.0.1 --port N` and BENCH_RAW_DATABASE_URL set
(BENCH_RAW_TODAY, BENCH_RAW_GRACE_DAYS, BENCH_RAW_DORMANCY_MONTHS for the rule-based reads).
"""

import os
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import orjson
from sqlalchemy import text

ENV_URL = "BENCH_RAW_DATABASE_URL"
LIST_PATH = "/v1/agreements"
COLUMNS = (
    "id, title, instrument, summary, subject_areas, signatory_org_id, counterparts, languages, "
    "has_dispute_settlement_clause, signed_on, signed_place, entry_into_force_on, expires_on, suspended_on, "
    "terminated_on, termination_reason, withdrawn_on, external_ref, created_at, updated_at"
)
LIST_SQL = (
    f"SELECT {COLUMNS} FROM agreements WHERE signed_on IS NOT NULL "  # noqa: S608 - constants only
    "ORDER BY updated_at DESC, id DESC LIMIT 50"
)
ONE_SQL = f"SELECT {COLUMNS} FROM agreements WHERE id = $1"  # noqa: S608 - constants only
TARGETS_SQL = (
    "SELECT id, agreement_id, indicator, title, description, measure, unit, ascending, baseline_value, "
    "baseline_on, baseline_comment, milestones, responsible_org_id, created_at, updated_at "
    "FROM targets WHERE agreement_id = $1 ORDER BY created_at, id LIMIT 51"
)
LOG_SQL = (
    "SELECT index, at, actor_org_id, action, resource_type, resource_id, resource_sha256, "
    "encode(leaf_hash, 'hex') AS leaf_hash FROM log_entries WHERE index >= $1 AND index < $2 ORDER BY index"
)
ENV_TODAY = "BENCH_RAW_TODAY"
ENV_GRACE = "BENCH_RAW_GRACE_DAYS"
ENV_DORMANCY = "BENCH_RAW_DORMANCY_MONTHS"


def _endpoint_sql() -> dict[str, tuple[str, list[Any]]]:
    """The findings and deadlines endpoints' own SQL and values (first page of 50, everything)."""
    from app.compliance import repository as compliance
    from app.compliance.rules import RULES
    from app.db import _arguments, _compile
    from app.deadlines import repository as deadlines

    today = date.fromisoformat(os.environ[ENV_TODAY])
    grace = int(os.environ.get(ENV_GRACE) or 90)
    dormancy = int(os.environ.get(ENV_DORMANCY) or 12)
    findings = _compile(text(compliance._page_sql(after=False)))
    findings_args = compliance._page_bind(
        compliance.Params(today=today, grace_days=grace, dormancy_months=dormancy),
        compliance.Scope(rules=tuple(r.code for r in RULES)),
        after=None,
        limit=51,
    )
    window = deadlines.Window(today=today, until=today + timedelta(days=30), grace_days=grace)
    deadline_args = deadlines._bind(window, deadlines.Scope(all_=True, org_id=None), after=None, limit=51)
    due = _compile(text(deadlines.DEADLINES_SQL))
    return {
        "/v1/compliance/findings": (findings.sql, _arguments(findings, findings_args)),
        "/v1/deadlines": (due.sql, _arguments(due, deadline_args)),
    }


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class RawApp:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None
        self.endpoints: dict[str, tuple[str, list[Any]]] = {}

    async def _setup(self, conn: asyncpg.Connection) -> None:
        # jsonb decoded by orjson (asyncpg would hand back text). asyncpg's own UUID type is
        # written through `default=str` below: orjson knows only uuid.UUID itself.
        await conn.set_type_codec(
            "jsonb", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        assert self.pool is not None
        body: bytes | None = None
        if path == LIST_PATH:
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(LIST_SQL)
            body = _dumps({"items": [dict(r) for r in rows], "next_cursor": None})
        elif path in self.endpoints:
            sql, args = self.endpoints[path]
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(sql, *args)
            body = _dumps({"items": [dict(r) for r in rows[:50]], "next_cursor": None})
        elif path == "/v1/log/entries":
            query = parse_qs(scope["query_string"].decode())
            start, end = int(query["start"][0]), int(query["end"][0])
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(LOG_SQL, start, end)
            body = _dumps({"entries": [dict(r) for r in rows]})
        elif path.startswith(LIST_PATH + "/"):
            parts = path[len(LIST_PATH) + 1 :].split("/")
            try:
                agreement_id = uuid.UUID(parts[0])
            except ValueError:
                agreement_id = None
            if agreement_id is not None and len(parts) == 1:
                async with self.pool.acquire() as conn:
                    row = await conn.fetchrow(ONE_SQL, agreement_id)
                body = None if row is None else _dumps(dict(row))
            elif agreement_id is not None and parts[1:] == ["targets"]:
                async with self.pool.acquire() as conn:
                    rows = await conn.fetch(TARGETS_SQL, agreement_id)
                body = _dumps({"items": [dict(r) for r in rows[:50]], "next_cursor": None})
        if body is None:
            await self._respond(send, 404, b"{}")
            return
        await self._respond(send, 200, body)

    async def _respond(self, send: Send, status: int, body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool = await asyncpg.create_pool(
                    os.environ[ENV_URL],
                    min_size=2,
                    max_size=20,
                    init=self._setup,
                    server_settings={"timezone": "UTC", "application_name": "pacta-bench-raw"},
                )
                self.endpoints = _endpoint_sql()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _dumps(document: Any) -> bytes:
    # asyncpg's own UUID class and Decimal are written through `default=str`.
    return orjson.dumps(document, default=str)


app = RawApp()
