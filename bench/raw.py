"""The ceiling reference: raw ASGI + asyncpg + orjson serving the agreements table's stored columns.

What the machine can do for a JSON read of this table, with nothing Pacta adds: no framework,
no derived fields (status, participants), no visibility rule beyond "signed", no cursor, no
validation; 50 rows of the stored columns in the list's order, or one row by id, written by
orjson. Each Pacta endpoint's throughput is printed as a ratio to this. Serve it with
`python -m uvicorn bench.raw:app --host 127.0.0.1 --port N` and BENCH_RAW_DATABASE_URL set.
"""

import os
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg
import orjson

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

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class RawApp:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None

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
        if path == LIST_PATH:
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(LIST_SQL)
            body = orjson.dumps({"items": [dict(r) for r in rows], "next_cursor": None}, default=str)
        elif path.startswith(LIST_PATH + "/"):
            try:
                agreement_id = uuid.UUID(path.rsplit("/", 1)[1])
            except ValueError:
                await self._respond(send, 404, b"{}")
                return
            async with self.pool.acquire() as conn:
                row = await conn.fetchrow(ONE_SQL, agreement_id)
            if row is None:
                await self._respond(send, 404, b"{}")
                return
            body = orjson.dumps(dict(row), default=str)
        else:
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
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


app = RawApp()
