"""The reference: a bare ASGI app on asyncpg serving the agreements list's no-filter first page.

No framework, no ORM, no validation: one raw ASGI callable, one asyncpg pool, json.dumps. It runs
the very SQL the list endpoint runs (compiled once from app.agreements.repository.list_statement
for an anonymous caller, default sort and page size) and answers the same JSON shape,
`{"items": [...], "next_cursor": ...}` with the same field order, date and timestamp spellings
and cursor encoding, plus the same `Link` header. Serve it with
`python -m uvicorn bench.bare:app --host 127.0.0.1 --port N` and BENCH_BARE_DATABASE_URL set.
"""

import base64
import json
import os
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect

from app.agreements.repository import SORTS, Filters, Viewer, list_statement
from app.http.pagination import DEFAULT_LIMIT, PageParams

ENV_URL = "BENCH_BARE_DATABASE_URL"
PATH = "/v1/agreements"
SORT = "-updated_at"
ZONE = ZoneInfo(os.environ.get("PACTA_TIMEZONE", "America/Mexico_City"))
# AgreementRead's fields, in its order.
FIELDS = (
    "id",
    "title",
    "instrument",
    "summary",
    "subject_areas",
    "signatory_org_id",
    "counterparts",
    "participant_org_ids",
    "languages",
    "has_dispute_settlement_clause",
    "signed_on",
    "signed_place",
    "entry_into_force_on",
    "expires_on",
    "suspended_on",
    "terminated_on",
    "termination_reason",
    "withdrawn_on",
    "external_ref",
    "status",
    "registration_status",
    "created_at",
    "updated_at",
)
COUNTERPART_FIELDS = ("name", "kind", "country", "region")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def compile_first_page(today: date, limit: int = DEFAULT_LIMIT) -> tuple[str, list[Any]]:
    """The list endpoint's SQL and its arguments for an anonymous caller's first page."""
    stmt = list_statement(Filters(), Viewer(all_=False, org_id=None), today, SORT, PageParams(limit, None))
    compiled = stmt.compile(dialect=asyncpg_dialect.dialect())  # type: ignore[no-untyped-call]
    assert compiled.positiontup is not None
    return str(compiled), [compiled.params[name] for name in compiled.positiontup]


def _timestamp(moment: datetime) -> str:
    """pydantic's spelling of a UTC instant: microseconds only when non-zero, and Z."""
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def _cursor(updated_at: datetime, agreement_id: uuid.UUID) -> str:
    """app.http.pagination.encode_cursor, spelled out."""
    values = [updated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), str(agreement_id)]
    raw = json.dumps({"s": SORTS[SORT].name, "v": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return _timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _item(row: asyncpg.Record) -> dict[str, Any]:
    item = {name: _jsonable(row[name]) for name in FIELDS}
    item["counterparts"] = [{k: c.get(k) for k in COUNTERPART_FIELDS} for c in item["counterparts"]]
    return item


class BareApp:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None
        self.today: date | None = None
        self.sql = ""
        self.args: list[Any] = []

    async def _setup(self, conn: asyncpg.Connection) -> None:
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] != PATH or scope["method"] != "GET":
            await self._respond(send, 404, b'{"title":"Not Found"}', [])
            return
        today = datetime.now(ZONE).date()
        if today != self.today:
            self.sql, self.args = compile_first_page(today)
            self.today = today
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(self.sql, *self.args)
        items = rows[:DEFAULT_LIMIT]
        cursor = None
        if len(rows) > DEFAULT_LIMIT and items:
            cursor = _cursor(items[-1]["updated_at"], items[-1]["id"])
        body = json.dumps(
            {"items": [_item(r) for r in items], "next_cursor": cursor}, ensure_ascii=False, separators=(",", ":")
        ).encode()
        headers = []
        if cursor is not None:
            host = next((v for k, v in scope["headers"] if k == b"host"), b"localhost").decode()
            headers.append((b"link", f'<http://{host}{PATH}?cursor={cursor}>; rel="next"'.encode()))
        await self._respond(send, 200, body, headers)

    async def _respond(self, send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
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
                    server_settings={"timezone": "UTC", "application_name": "pacta-bench-bare"},
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


app = BareApp()
