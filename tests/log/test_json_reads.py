"""GET /v1/log/entries is JSON text built by PostgreSQL: the same bytes the pydantic models write."""

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx2
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.log import registry as log_registry
from app.log import service as log_service
from app.log.schemas import Entries
from app.models.organizations import PLATFORM_ORG_ID
from tests.problems import assert_problem


async def _no_rows(_session: AsyncSession) -> list[tuple[uuid.UUID | str, Any]]:
    return []


log_registry.register("json_read_test", _no_rows)

RESOURCE_IDS = ['Łódź "León" \\ 東京 \t\n\u0001 ☃ </script>', str(uuid.uuid4()), "", "😀"]
MOMENTS = [
    datetime(2024, 2, 29, 10, 0, 0, tzinfo=UTC),
    datetime(2024, 3, 1, 8, 30, 15, 120000, tzinfo=UTC),
    datetime(2019, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
]


class _Clock:
    """Stands in for the log service's datetime: `now` gives the next of MOMENTS."""

    moments: ClassVar[list[datetime]] = []

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # noqa: ARG003
        return cls.moments.pop(0)


async def _append_varied(session: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    # Instants with and without microseconds, as the log stamps them.
    monkeypatch.setattr(_Clock, "moments", list(MOMENTS))
    monkeypatch.setattr(log_service, "datetime", _Clock)
    indexes = []
    for n, resource_id in enumerate(RESOURCE_IDS):
        entry = await log_service.append(
            session,
            actor_org_id=None if n % 2 else PLATFORM_ORG_ID,
            action=log_service.Action.update,
            resource_type="json_read_test",
            resource_id=resource_id,
            document=None if n == 3 else {"n": n},
        )
        indexes.append(entry.index)
    await session.commit()
    return indexes


async def test_entries_are_the_pydantic_bytes(
    client: httpx2.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexes = await _append_varied(session, monkeypatch)
    first, size = indexes[0], indexes[-1] + 1
    for start, end in [(first, size), (0, size), (first + 1, first + 3), (first, size + 50), (size - 1, size)]:
        response = await client.get("/v1/log/entries", params={"start": start, "end": end})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        expected = await log_service.entries(session, start, end)
        assert response.content == expected.model_dump_json().encode()
        assert len(Entries.model_validate_json(response.content).entries) == min(end, size) - start
    document = Entries.model_validate_json(
        (await client.get("/v1/log/entries", params={"start": first, "end": size})).content
    )
    assert [e.resource_id for e in document.entries] == RESOURCE_IDS
    assert document.entries[0].at == "2024-02-29T10:00:00.000000Z"
    assert document.entries[3].at == "2025-01-01T00:00:00.000001Z"
    assert document.entries[1].actor_org_id is None


async def test_entries_refuses_ranges_outside_the_log(
    client: httpx2.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexes = await _append_varied(session, monkeypatch)
    size = indexes[-1] + 1
    response = await client.get("/v1/log/entries", params={"start": size, "end": size + 5})
    assert_problem(response, 422)
    response = await client.get("/v1/log/entries", params={"start": 3, "end": 3})
    assert_problem(response, 422)
