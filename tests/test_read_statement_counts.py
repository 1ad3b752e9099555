"""The hot reads run a constant, small number of statements, none of them a transaction's BEGIN
or COMMIT: the caller's key (one indexed statement, when a key is sent) and the read itself (one
statement building the JSON), whatever the page size or depth. Counted as in
tests/test_statement_counts.py, with the key already used this minute."""

import httpx2
import pytest
from fastapi import FastAPI

from tests.conftest import MakeKey, MakeOrg
from tests.factories import AGREEMENTS, TODAY, World, make_world, pin_today
from tests.targets.factories import create_target, make_agreement, target_body, targets_of
from tests.test_statement_counts import Statements, statements

__all__ = ["statements"]  # fixture


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


async def _count(client: httpx2.AsyncClient, statements: Statements, url: str, headers: dict[str, str]) -> list[str]:
    await client.get(url, headers=headers)  # the key's last_used_at, refreshed at most once a minute
    statements.seen.clear()
    statements.counting = True
    try:
        response = await client.get(url, headers=headers)
    finally:
        statements.counting = False
    assert response.status_code == 200, (url, response.text)
    return [" ".join(s.split()[:2]).upper() for s, _ in statements.seen]


async def test_hot_reads_run_one_statement_besides_the_key(
    client: httpx2.AsyncClient, app: FastAPI, world: World, statements: Statements
) -> None:
    pin_today(app, TODAY)
    await make_agreement(client, world, "public")
    agreement = await make_agreement(client, world, "public")
    for n in range(3):
        await create_target(client, world.headers("editor"), agreement["id"], target_body(title=f"Meta {n}"))
    first = (await client.get(AGREEMENTS, params={"limit": 1})).json()
    reads: dict[str, tuple[str, dict[str, str], int]] = {
        "agreements, anonymous": (AGREEMENTS, {}, 1),
        "agreements, deep page": (f"{AGREEMENTS}?cursor={first['next_cursor']}", world.headers("auditor"), 2),
        "one agreement": (f"{AGREEMENTS}/{agreement['id']}", world.headers("editor"), 2),
        "compliance findings": ("/v1/compliance/findings", world.headers("auditor"), 2),
        "deadlines": ("/v1/deadlines", world.headers("editor"), 2),
        "log entries": ("/v1/log/entries?start=0&end=5", {}, 1),
        # The agreement's visibility, then its targets.
        "targets progress": (targets_of(agreement["id"]), world.headers("participant"), 3),
    }
    for name, (url, headers, expected) in reads.items():
        seen = await _count(client, statements, url, headers)
        assert len(seen) == expected, (name, seen)
        assert not any(s.startswith(("BEGIN", "COMMIT", "ROLLBACK")) for s in seen), (name, seen)
    # The same count for one item or two hundred.
    for url, headers in [(AGREEMENTS, world.headers("admin")), (targets_of(agreement["id"]), {})]:
        sep = "&" if "?" in url else "?"
        counts: set[int] = set()
        for limit in (1, 200):
            counts.add(len(await _count(client, statements, f"{url}{sep}limit={limit}", headers)))
        assert len(counts) == 1, (url, counts)
