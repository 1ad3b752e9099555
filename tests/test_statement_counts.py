"""How many SQL statements each write endpoint runs, held at the counts it was brought down to.

A write that reads the same row twice, or that grows a statement per change, slows every client
and is where stale reads come from: each count here is a ceiling, and no write may read one row
of a table twice. The counts are of one request as a client sends it, with its key already used
this minute (so the once-a-minute `last_used_at` refresh is not counted); the savepoints the test
harness wraps around each request are not counted either.
"""

import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import MakeKey, MakeOrg
from tests.factories import AGREEMENTS, TODAY, World, get_ok, iso, make_world, pin_today
from tests.targets.factories import make_agreement, pdf, target_body

# Ceilings per endpoint: the counts after the consolidation (before it, in parentheses). Every
# agreement write includes the key lookup (1), the log (2: the index, then leaf and detail) and
# the outbox (1: the event with its fan-out); agreement.status_changed adds 1 when it fires.
LIMITS: dict[str, int] = {
    "POST /v1/organizations": 6,  # (8)
    "PATCH /v1/organizations/{id}": 6,  # (7)
    "POST /v1/organizations/{id}/api-keys": 7,  # (9)
    "DELETE /v1/organizations/{id}/api-keys/{id}": 6,  # (7)
    "DELETE /v1/organizations/{id}": 6,  # (7)
    "POST /v1/agreements": 11,  # (14)
    "PATCH /v1/agreements/{id}": 6,  # (11)
    "DELETE /v1/agreements/{id}": 7,  # (10)
    "POST /v1/agreements/{id}/legal-reviews": 10,  # (15)
    "PATCH /v1/legal-reviews/{id}": 7,  # (15)
    "POST /v1/agreements/{id}/registrations": 9,  # (14)
    "PATCH /v1/registrations/{id}": 7,  # (15)
    "POST /v1/agreements/{id}/targets": 9,  # (14)
    "PATCH /v1/targets/{id}": 8,  # (17)
    "DELETE /v1/targets/{id}": 8,  # (15)
    "POST /v1/agreements/{id}/evidence": 11,  # (14)
    "POST /v1/evidence/{id}/review": 7,  # (12)
    "POST /v1/targets/{id}/measurements": 10,  # (15)
    "POST /v1/measurements/{id}/verification": 8,  # (15)
    "POST /v1/agreements/{id}/activities": 12,  # (15)
    "PATCH /v1/activities/{id}": 8,  # (13)
    "DELETE /v1/activities/{id}": 9,  # (14)
    "POST /v1/webhooks": 4,  # (5)
    "PATCH /v1/webhooks/{id}": 7,  # (9)
    "DELETE /v1/webhooks/{id}": 5,  # (6)
    "POST /v1/organizations/{id}/calendar-tokens": 6,  # (8)
    "DELETE /v1/organizations/{id}/calendar-tokens/{id}": 6,  # (7)
}
# An upload checks the agreement before it reads the body, and locks it only once the body is
# stored (never holding a lock while a client sends): it reads the agreement again, on purpose,
# since it may have changed meanwhile.
READ_AGAIN_ON_PURPOSE = {"POST /v1/agreements/{id}/evidence": {"agreements"}}

_HARNESS = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.IGNORECASE)
# `table.column = $n::UUID` (asyncpg's positional parameters): a row looked up by an id.
_EQUALS = re.compile(r"\b([a-z_0-9]+)\.[a-z_]+ = \$(\d+)::UUID")
_ALIAS = re.compile(r"_\d+$")


@dataclass
class Statements:
    """The statements run while `counting` is on."""

    counting: bool = False
    seen: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def rows_read_twice(self) -> list[tuple[str, str]]:
        """(table, id) pairs that two SELECTs both looked up by equality: the same row(s) read again."""
        reads: Counter[tuple[str, str]] = Counter()
        for statement, parameters in self.seen:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            looked_up = {
                (_ALIAS.sub("", table), str(parameters[int(n) - 1]))
                for table, n in _EQUALS.findall(statement)
                if int(n) <= len(parameters)
            }
            reads.update(looked_up)
        return sorted(k for k, n in reads.items() if n > 1)


@pytest.fixture
def statements(connection: AsyncConnection) -> Iterator[Statements]:
    recorded = Statements()

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if recorded.counting and not _HARNESS.match(statement):
            values = parameters[0] if many and parameters else parameters
            recorded.seen.append((statement, tuple(values or ())))

    target = connection.sync_connection
    assert target is not None
    event.listen(target, "before_cursor_execute", record)
    try:
        yield recorded
    finally:
        event.remove(target, "before_cursor_execute", record)


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@dataclass
class Measured:
    counts: dict[str, int] = field(default_factory=dict)
    twice: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


@contextmanager
def measuring(statements: Statements, measured: Measured, name: str) -> Iterator[None]:
    statements.seen.clear()
    statements.counting = True
    try:
        yield
    finally:
        statements.counting = False
    measured.counts[name] = len(statements.seen)
    measured.twice[name] = statements.rows_read_twice()
    if os.environ.get("SHOW_SQL") == name:
        print("\n".join(f"{s[:160]!r} {p!r:.120}" for s, p in statements.seen))  # noqa: T201


async def _etag(client: httpx2.AsyncClient, url: str, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "If-Match": (await get_ok(client, url, headers)).headers["etag"]}


def _ok(response: httpx2.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return {} if status == 204 else dict(response.json())


async def test_every_write_endpoint_runs_few_statements_and_reads_no_row_twice(
    client: httpx2.AsyncClient, world: World, statements: Statements
) -> None:
    admin, editor, participant = world.headers("admin"), world.headers("editor"), world.headers("participant")
    for headers in (admin, editor, participant, world.headers("legal_reviewer")):
        await get_ok(client, f"{AGREEMENTS}?limit=1", headers)  # the key's once-a-minute refresh, done
    measured = Measured()

    def measure(name: str) -> Any:
        return measuring(statements, measured, name)

    # Organizations and keys.
    with measure("POST /v1/organizations"):
        org = _ok(
            await client.post("/v1/organizations", json={"kind": "university", "name": "UdeC"}, headers=admin), 201
        )
    org_url = f"/v1/organizations/{org['id']}"
    if_match = await _etag(client, org_url, admin)
    with measure("PATCH /v1/organizations/{id}"):
        _ok(await client.patch(org_url, json={"website": "https://ucol.mx"}, headers=if_match), 200)
    with measure("POST /v1/organizations/{id}/api-keys"):
        key = _ok(await client.post(f"{org_url}/api-keys", json={"role": "contributor"}, headers=admin), 201)
    with measure("DELETE /v1/organizations/{id}/api-keys/{id}"):
        _ok(await client.delete(f"{org_url}/api-keys/{key['id']}", headers=admin), 204)
    spare = _ok(await client.post("/v1/organizations", json={"kind": "university", "name": "UAG"}, headers=admin), 201)
    spare_url = f"/v1/organizations/{spare['id']}"
    if_match = await _etag(client, spare_url, admin)
    with measure("DELETE /v1/organizations/{id}"):
        _ok(await client.delete(spare_url, headers=if_match), 204)

    # Agreements.
    body = {
        "title": "Hermanamiento Guadalajara - Kraków",
        "instrument": "sister_city",
        "signatory_org_id": str(world.signatory.id),
        "counterparts": [{"name": "Kraków", "kind": "foreign_government_body", "country": "PL"}],
        "subject_areas": ["culture"],
        "languages": ["es", "pl"],
        "participant_org_ids": [str(world.participant.id)],
    }
    with measure("POST /v1/agreements"):
        draft = _ok(await client.post(AGREEMENTS, json=body, headers=editor), 201)
    draft_url = f"{AGREEMENTS}/{draft['id']}"
    if_match = await _etag(client, draft_url, editor)
    with measure("PATCH /v1/agreements/{id}"):
        _ok(await client.patch(draft_url, json={"summary": "Cooperación cultural"}, headers=if_match), 200)
    if_match = await _etag(client, draft_url, editor)
    with measure("DELETE /v1/agreements/{id}"):
        _ok(await client.delete(draft_url, headers=if_match), 204)

    agreement = await make_agreement(client, world, "public")
    children = f"{AGREEMENTS}/{agreement['id']}"

    # Legal reviews and registrations.
    with measure("POST /v1/agreements/{id}/legal-reviews"):
        review = _ok(
            await client.post(
                f"{children}/legal-reviews", json={"kind": "sre_dictamen", "requested_on": iso(-300)}, headers=editor
            ),
            201,
        )
    review_url = f"/v1/legal-reviews/{review['id']}"
    if_match = await _etag(client, review_url, editor)
    with measure("PATCH /v1/legal-reviews/{id}"):
        _ok(await client.patch(review_url, json={"reference": "SRE/1"}, headers=if_match), 200)
    with measure("POST /v1/agreements/{id}/registrations"):
        registration = _ok(
            await client.post(
                f"{children}/registrations", json={"registry": "sre", "submitted_on": iso(-10)}, headers=editor
            ),
            201,
        )
    registration_url = f"/v1/registrations/{registration['id']}"
    if_match = await _etag(client, registration_url, editor)
    with measure("PATCH /v1/registrations/{id}"):
        _ok(await client.patch(registration_url, json={"observations": "En trámite"}, headers=if_match), 200)

    # Targets, evidence, measurements.
    with measure("POST /v1/agreements/{id}/targets"):
        target = _ok(await client.post(f"{children}/targets", json=target_body(), headers=editor), 201)
    target_url = f"/v1/targets/{target['id']}"
    if_match = await _etag(client, target_url, editor)
    with measure("PATCH /v1/targets/{id}"):
        _ok(await client.patch(target_url, json={"title": "Empresas acompañadas"}, headers=if_match), 200)
    spare_target = _ok(await client.post(f"{children}/targets", json=target_body(), headers=editor), 201)
    spare_target_url = f"/v1/targets/{spare_target['id']}"
    if_match = await _etag(client, spare_target_url, editor)
    with measure("DELETE /v1/targets/{id}"):
        _ok(await client.delete(spare_target_url, headers=if_match), 204)
    with measure("POST /v1/agreements/{id}/evidence"):
        evidence = _ok(
            await client.post(
                f"{children}/evidence",
                files={"file": ("lista.pdf", pdf(), "application/pdf")},
                data={"title": "Lista de asistencia", "document_type": "attendance_list"},
                headers=participant,
            ),
            201,
        )
    with measure("POST /v1/evidence/{id}/review"):
        _ok(
            await client.post(f"/v1/evidence/{evidence['id']}/review", json={"decision": "accepted"}, headers=editor),
            200,
        )
    with measure("POST /v1/targets/{id}/measurements"):
        measurement = _ok(
            await client.post(
                f"{target_url}/measurements",
                json={"as_of": iso(-1), "value": 3, "evidence_ids": [evidence["id"]]},
                headers=participant,
            ),
            201,
        )
    with measure("POST /v1/measurements/{id}/verification"):
        _ok(
            await client.post(
                f"/v1/measurements/{measurement['id']}/verification", json={"decision": "verified"}, headers=editor
            ),
            200,
        )

    # Activities.
    activity_body = {
        "kind": "technical_exchange",
        "title": "Intercambio técnico sobre agua potable",
        "starts_at": "2025-07-01T10:00:00-06:00",
        "place": "Guadalajara, Jalisco",
    }
    with measure("POST /v1/agreements/{id}/activities"):
        activity = _ok(await client.post(f"{children}/activities", json=activity_body, headers=participant), 201)
    activity_url = f"/v1/activities/{activity['id']}"
    if_match = await _etag(client, activity_url, editor)
    with measure("PATCH /v1/activities/{id}"):
        _ok(await client.patch(activity_url, json={"status": "confirmed"}, headers=if_match), 200)
    if_match = await _etag(client, activity_url, editor)
    with measure("DELETE /v1/activities/{id}"):
        _ok(await client.delete(activity_url, headers=if_match), 204)

    # Webhooks and calendar tokens.
    with measure("POST /v1/webhooks"):
        hook = _ok(
            await client.post(
                "/v1/webhooks", json={"url": "https://93.184.215.14/hooks", "event_types": ["*"]}, headers=editor
            ),
            201,
        )
    hook_url = f"/v1/webhooks/{hook['id']}"
    if_match = await _etag(client, hook_url, editor)
    with measure("PATCH /v1/webhooks/{id}"):
        _ok(await client.patch(hook_url, json={"description": "Portal"}, headers=if_match), 200)
    if_match = await _etag(client, hook_url, editor)
    with measure("DELETE /v1/webhooks/{id}"):
        _ok(await client.delete(hook_url, headers=if_match), 204)
    tokens = f"/v1/organizations/{world.signatory.id}/calendar-tokens"
    with measure("POST /v1/organizations/{id}/calendar-tokens"):
        token = _ok(await client.post(tokens, json={"name": "Google Calendar"}, headers=editor), 201)
    with measure("DELETE /v1/organizations/{id}/calendar-tokens/{id}"):
        _ok(await client.delete(f"{tokens}/{token['id']}", headers=editor), 204)

    report = "\n".join(
        f"{n:>3}  {name}{'  read twice: ' + str(measured.twice[name]) if measured.twice[name] else ''}"
        for name, n in measured.counts.items()
    )
    print(f"\nSQL statements per write endpoint:\n{report}")  # noqa: T201 - the figures the test holds
    over = {name: n for name, n in measured.counts.items() if n > LIMITS.get(name, 10**6)}
    assert not over, f"more statements than allowed: {over}\n{report}"
    twice = {
        name: unexpected
        for name, pairs in measured.twice.items()
        if (unexpected := [p for p in pairs if p[0] not in READ_AGAIN_ON_PURPOSE.get(name, set())])
    }
    assert not twice, f"rows read twice: {twice}\n{report}"
