"""SQL for the transparency log."""

from collections.abc import AsyncIterator, Iterable
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ClauseElement
from sqlmodel import SQLModel, col

from app import sql_json
from app.db import Reader
from app.log.merkle import Node
from app.log.schemas import Entry
from app.models import LogDetail, LogEntry, LogHead, LogNode


async def reserve_index(session: AsyncSession) -> int:
    """Take the next index, holding the head row's lock until this transaction ends.

    A rolled-back transaction gives its index back, so the sequence never has gaps; concurrent
    writers queue on the row lock and commit in index order.
    """
    result = await session.execute(text("UPDATE log_head SET size = size + 1 WHERE id = 1 RETURNING size - 1"))
    return int(result.scalar_one())


async def add_entry(session: AsyncSession, entry: LogEntry, detail: LogDetail, nodes: dict[Node, bytes]) -> None:
    """Store the leaf, its detail and the subtrees it completes, in one statement."""
    entries = LogEntry.__table__  # type: ignore[attr-defined]
    details = LogDetail.__table__  # type: ignore[attr-defined]
    added = (
        insert(entries)
        .values({c.key: getattr(entry, c.key) for c in entries.columns})
        .returning(entries.c.index)
        .cte("added")
    )
    stmt = insert(details).from_select(
        ["index", "agreement_id", "document"],
        select(
            added.c.index,
            literal(detail.agreement_id, details.c.agreement_id.type),
            literal(detail.document, details.c.document.type),
        ),
    )
    if nodes:
        stored = insert(LogNode.__table__).values(  # type: ignore[attr-defined]
            [{"level": level, "index": index, "hash": h} for (level, index), h in nodes.items()]
        )
        stmt = stmt.add_cte(stored.cte("nodes"))
    await session.execute(stmt)


async def size(session: AsyncSession) -> int:
    """The size of the tree as committed (readers never wait on writers: no lock taken)."""
    result = await session.execute(text("SELECT size FROM log_head WHERE id = 1"))
    return int(result.scalar_one())


async def node_hashes(session: AsyncSession, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """Hashes of stored nodes (level 0: the leaves) in two queries at most."""
    wanted = set(nodes)
    leaves = sorted(i for level, i in wanted if level == 0)
    inner = sorted(n for n in wanted if n[0] > 0)
    found: dict[Node, bytes] = {}
    if leaves:
        rows = await session.execute(
            select(col(LogEntry.index), col(LogEntry.leaf_hash)).where(col(LogEntry.index).in_(leaves))
        )
        found.update({(0, i): bytes(h) for i, h in rows.all()})
    if inner:
        inner_rows = await session.execute(
            text(
                "SELECT n.level, n.index, n.hash FROM log_nodes n "
                "JOIN unnest(CAST(:levels AS smallint[]), CAST(:indexes AS bigint[])) AS w(level, index) "
                "ON n.level = w.level AND n.index = w.index"
            ),
            {"levels": [level for level, _ in inner], "indexes": [i for _, i in inner]},
        )
        found.update({(level, i): bytes(h) for level, i, h in inner_rows.all()})
    return found


async def entries(session: AsyncSession, start: int, end: int) -> list[LogEntry]:
    stmt = select(LogEntry).where(col(LogEntry.index) >= start, col(LogEntry.index) < end).order_by(col(LogEntry.index))
    return list((await session.execute(stmt)).scalars())


_E = LogEntry.__table__.c  # type: ignore[attr-defined]
_ENTRY_JSON = sql_json.obj(
    [
        (
            name,
            sql_json.timestamp_micros(_E.at)
            if name == "at"
            else sql_json.hex_bytes(_E.leaf_hash)
            if name == "leaf_hash"
            else sql_json.value(_E[name]),
        )
        for name in Entry.model_fields
    ]
)
_HEAD = LogHead.__table__.c  # type: ignore[attr-defined]
_START = bindparam("start", type_=BigInteger())
_END = bindparam("end", type_=BigInteger())
_ENTRIES_JSON = (
    select(_ENTRY_JSON.label("document"), _E.index)
    .where(_E.index >= _START, _E.index < func.least(_END, select(_HEAD.size).where(_HEAD.id == 1).scalar_subquery()))
    .subquery()
)
# The committed size and the entries [start, min(end, size)) as one JSON array, in one statement.
_SIZE_AND_ENTRIES: ClauseElement = select(
    select(_HEAD.size).where(_HEAD.id == 1).scalar_subquery().label("size"),
    select(sql_json.array(_ENTRIES_JSON.c.document, _ENTRIES_JSON.c.index)).scalar_subquery().label("entries"),
)


async def size_and_entries_json(reader: Reader, start: int, end: int) -> tuple[int, str]:
    """The log's size, and its entries [start, min(end, size)) as the JSON text of a list of
    Entry (built by PostgreSQL, app.sql_json)."""
    row = await reader.fetchrow(_SIZE_AND_ENTRIES, {"start": start, "end": end})
    assert row is not None
    return int(row["size"]), str(row["entries"])


async def entry(session: AsyncSession, index: int) -> LogEntry | None:
    return (await session.execute(select(LogEntry).where(col(LogEntry.index) == index))).scalars().first()


async def entries_for(session: AsyncSession, *, resource_type: str, resource_id: str) -> list[LogEntry]:
    stmt = (
        select(LogEntry)
        .where(col(LogEntry.resource_type) == resource_type, col(LogEntry.resource_id) == resource_id)
        .order_by(col(LogEntry.index))
    )
    return list((await session.execute(stmt)).scalars())


async def all_entries(session: AsyncSession) -> list[LogEntry]:
    return list((await session.execute(select(LogEntry).order_by(col(LogEntry.index)))).scalars())


async def stream_entries(session: AsyncSession, batch: int = 5000) -> AsyncIterator[tuple[LogEntry, Any]]:
    """Every entry with its stored document, in index order, a batch at a time."""
    after = -1
    while True:
        stmt = (
            select(LogEntry, col(LogDetail.document))
            .outerjoin(LogDetail, col(LogDetail.index) == col(LogEntry.index))
            .where(col(LogEntry.index) > after)
            .order_by(col(LogEntry.index))
            .limit(batch)
        )
        rows = (await session.execute(stmt)).all()
        for entry, document in rows:
            yield entry, document
        if len(rows) < batch:
            return
        after = rows[-1][0].index


async def stored_nodes(session: AsyncSession) -> dict[Node, bytes]:
    rows = await session.execute(select(col(LogNode.level), col(LogNode.index), col(LogNode.hash)))
    return {(level, index): bytes(h) for level, index, h in rows.all()}


async def latest_entries(session: AsyncSession) -> dict[tuple[str, str], tuple[int, str, str]]:
    """(resource_type, resource_id) -> (index, action, resource_sha256) of its latest entry."""
    rows = await session.execute(
        text(
            "SELECT DISTINCT ON (resource_type, resource_id) "
            "resource_type, resource_id, index, action, resource_sha256 "
            "FROM log_entries ORDER BY resource_type, resource_id, index DESC"
        )
    )
    return {(t, i): (idx, a, h) for t, i, idx, a, h in rows.all()}


async def all_rows(session: AsyncSession, model: type[SQLModel]) -> list[Any]:
    return list((await session.execute(select(model))).scalars())


async def pairs(session: AsyncSession, model: type[SQLModel], key: str, value: str) -> dict[Any, list[Any]]:
    """model's (key, value) column pairs grouped by key: participants, cited evidence."""
    table = model.__table__  # type: ignore[attr-defined]
    grouped: dict[Any, list[Any]] = {}
    for k, v in (await session.execute(select(table.c[key], table.c[value]))).all():
        grouped.setdefault(k, []).append(v)
    return grouped


async def creation_entry(session: AsyncSession, resource_type: str, resource_id: str) -> tuple[LogEntry, Any] | None:
    """The entry (and its stored document) that recorded a resource's creation."""
    stmt = (
        select(LogEntry, col(LogDetail.document))
        .join(LogDetail, col(LogDetail.index) == col(LogEntry.index))
        .where(
            col(LogEntry.resource_type) == resource_type,
            col(LogEntry.resource_id) == resource_id,
            col(LogEntry.action) == "create",
        )
        .order_by(col(LogEntry.index))
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])
