"""`pacta log verify` and `pacta log checkpoint`, the real console script run as a subprocess on a
database of its own, after rows were edited with plain SQL behind the API's back.

One registry is built through the API and committed once; every test works on its own copy
(CREATE DATABASE ... TEMPLATE), so each tampering is judged alone.
"""

import asyncio
import base64
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx2
import pytest

from app.api_keys import service as key_service
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.log import registry as log_registry
from app.log.hashing import canonical_json, leaf_hash, node_hash
from app.log.service import leaf_document
from app.log.verify import verify_log
from app.main import create_app
from app.models import LogEntry, OrganizationKind, Role
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from app.organizations.schemas import OrganizationCreate
from tests import conftest
from tests.db import drop_database, plain, server_url, with_database
from tests.test_cli import clean_env, run_cli

pytestmark = pytest.mark.slow

# Real past days, so the API accepts them whatever today is.
SIGNED_ON = "2025-03-01"


@dataclass(frozen=True, slots=True)
class Registry:
    """The ids of what the template database holds."""

    template_url: str
    admin: str  # an admin key's secret
    municipality: str
    university: str
    other_university: str
    agreement: str
    review: str
    registration: str
    evidence: str
    target: str
    measurement: str
    activity: str
    calendar_token: str
    webhook: str


@asynccontextmanager
async def api(url: str) -> AsyncIterator[httpx2.AsyncClient]:
    """The app in-process on `url`: its transactions really commit."""
    engine = make_engine(url, pool_size=2)
    app = create_app(conftest.test_settings())
    app.state.sessionmaker = make_sessionmaker(engine)
    try:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://testserver") as client:
            yield client
    finally:
        await engine.dispose()


async def created(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def build_registry(url: str) -> Registry:
    engine = make_engine(url, pool_size=2)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:

            async def org(kind: OrganizationKind, **fields: Any) -> uuid.UUID:
                made = await org_service.create_organization(
                    session, OrganizationCreate(kind=kind, **fields), actor_org_id=PLATFORM_ORG_ID
                )
                return made.id

            async def key(org_id: uuid.UUID, role: Role) -> str:
                owner = await org_service.get_organization(session, org_id)
                _, secret = await key_service.issue_key(
                    session, owner, role=role, name=None, expires_at=None, actor_org_id=PLATFORM_ORG_ID
                )
                return secret

            municipality = await org(OrganizationKind.municipality, name="Municipio de Guadalajara", inegi_code="14039")
            university = await org(OrganizationKind.university, name="Universidad de Guadalajara")
            other_university = await org(OrganizationKind.university, name="Universidad de Colima")
            admin = await key(PLATFORM_ORG_ID, Role.admin)
            editor = conftest.bearer(await key(municipality, Role.editor))
            contributor = conftest.bearer(await key(university, Role.contributor))
    finally:
        await engine.dispose()

    async with api(url) as client:
        agreement = await created(
            await client.post(
                "/v1/agreements",
                json={
                    "title": "Hermanamiento Guadalajara - Kraków",
                    "instrument": "sister_city",
                    "signatory_org_id": str(municipality),
                    "counterparts": [{"name": "Kraków", "kind": "foreign_government_body", "country": "PL"}],
                    "participant_org_ids": [str(university)],
                    "subject_areas": ["culture", "education"],
                    "languages": ["es", "pl"],
                    "signed_on": SIGNED_ON,
                },
                headers=editor,
            )
        )
        base = f"/v1/agreements/{agreement['id']}"
        review = await created(
            await client.post(
                f"{base}/legal-reviews",
                json={
                    "kind": "sre_dictamen",
                    "requested_on": "2025-01-10",
                    "decided_on": "2025-02-01",
                    "outcome": "favorable",
                },
                headers=editor,
            )
        )
        registration = await created(
            await client.post(
                f"{base}/registrations", json={"registry": "sre", "submitted_on": "2025-03-10"}, headers=editor
            )
        )
        evidence = await created(
            await client.post(
                f"{base}/evidence",
                files={"file": ("acuerdo.txt", b"Texto firmado del acuerdo de hermanamiento.\n", "text/plain")},
                data={"title": "Texto firmado", "document_type": "agreement_text"},
                headers=contributor,
            )
        )
        await created(
            await client.post(f"/v1/evidence/{evidence['id']}/review", json={"decision": "accepted"}, headers=editor)
        )
        target = await created(
            await client.post(
                f"{base}/targets",
                json={
                    "indicator": "technical_exchanges",
                    "title": "Intercambios académicos",
                    "measure": "count",
                    "baseline": {"value": 0},
                    "milestones": [{"months": 6, "target_value": 4}],
                },
                headers=editor,
            )
        )
        measurement = await created(
            await client.post(
                f"/v1/targets/{target['id']}/measurements",
                json={"as_of": "2025-09-01", "value": 3, "evidence_ids": [evidence["id"]]},
                headers=contributor,
            )
        )
        await created(
            await client.post(
                f"/v1/measurements/{measurement['id']}/verification", json={"decision": "verified"}, headers=editor
            )
        )
        activity = await created(
            await client.post(
                f"{base}/activities",
                json={
                    "kind": "training",
                    "title": "Taller de intercambio",
                    "starts_at": "2025-05-01T10:00:00-06:00",
                    "target_ids": [target["id"]],
                },
                headers=editor,
            )
        )
        calendar_token = await created(
            await client.post(f"/v1/organizations/{municipality}/calendar-tokens", json={}, headers=editor)
        )
        webhook = await created(
            await client.post(
                "/v1/webhooks",
                json={"url": "https://93.184.215.14/hooks/pacta", "event_types": ["agreement.*"]},
                headers=editor,
            )
        )
    return Registry(
        template_url=url,
        admin=admin,
        municipality=str(municipality),
        university=str(university),
        other_university=str(other_university),
        agreement=agreement["id"],
        review=review["id"],
        registration=registration["id"],
        evidence=evidence["id"],
        target=target["id"],
        measurement=measurement["id"],
        activity=activity["id"],
        calendar_token=calendar_token["id"],
        webhook=webhook["id"],
    )


@pytest.fixture(scope="module")
async def registry() -> AsyncIterator[Registry]:
    url = await asyncio.to_thread(conftest.migrated_database, "pacta_verify_template")
    try:
        yield await build_registry(url)
    finally:
        await asyncio.to_thread(drop_database, url)


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(plain(server_url()))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def copy(registry: Registry) -> AsyncIterator[str]:
    """A database of this test's own, holding the registry as built."""
    template = urlsplit(registry.template_url).path.lstrip("/")
    name = f"pacta_verify_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = with_database(server_url(), name)
    try:
        yield url
    finally:
        await asyncio.to_thread(drop_database, url)


async def sql(url: str, *statements: str) -> None:
    """Plain SQL, outside the API and its log."""
    conn = await asyncpg.connect(plain(url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def pacta(url: str, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(PACTA_DATABASE_URL=url, **settings)
    return await asyncio.to_thread(run_cli, *args, env=env)


@dataclass(frozen=True, slots=True)
class Verdict:
    returncode: int
    problems: list[str]
    summary: str


async def verify(url: str, *args: str) -> Verdict:
    result = await pacta(url, "log", "verify", *args)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines, result
    problems = [line.removeprefix("PROBLEM ") for line in lines[:-1]]
    assert all(line.startswith("PROBLEM ") for line in lines[:-1]), result.stdout
    return Verdict(result.returncode, problems, lines[-1])


def assert_clean(verdict: Verdict) -> None:
    assert verdict.returncode == 0, verdict
    assert verdict.problems == []
    assert verdict.summary.startswith("OK: "), verdict.summary


def assert_reported(verdict: Verdict, *expected: str) -> None:
    """Exit 1, and each expected problem is named; no other row is accused."""
    assert verdict.returncode == 1, verdict
    assert verdict.summary.startswith(f"{len(verdict.problems)} problem(s): "), verdict.summary
    for fragment in expected:
        assert any(fragment in p for p in verdict.problems), (fragment, verdict.problems)
    assert len(verdict.problems) == len(expected), verdict.problems


async def test_a_registry_written_through_the_api_verifies(copy: str, registry: Registry) -> None:
    verdict = await verify(copy)
    assert_clean(verdict)
    conn = await asyncpg.connect(plain(copy))
    try:
        size = await conn.fetchval("SELECT size FROM log_head")
    finally:
        await conn.close()
    assert f": {size} log entries, " in verdict.summary
    resources = int(verdict.summary.split(" log entries, ")[1].split(" ")[0])
    assert resources >= 10  # orgs, keys, the agreement and each of its children


TAMPERING = [
    pytest.param(
        ["UPDATE organizations SET name = 'Municipio de Zapopan' WHERE id = '{municipality}'"],
        ["organization {municipality} was changed outside the API"],
        id="organization-renamed",
    ),
    pytest.param(
        ["UPDATE agreements SET title = 'Hermanamiento Guadalajara - Lviv' WHERE id = '{agreement}'"],
        ["agreement {agreement} was changed outside the API"],
        id="agreement-retitled",
    ),
    pytest.param(
        [
            "INSERT INTO agreement_participants (agreement_id, organization_id) "
            "VALUES ('{agreement}', '{other_university}')"
        ],
        ["agreement {agreement} was changed outside the API"],
        id="participant-added",
    ),
    pytest.param(
        [
            "INSERT INTO legal_reviews (id, agreement_id, kind, requested_on, decided_on, outcome, checks, "
            "created_at, updated_at) VALUES ('{new}', '{agreement}', 'council_approval', '2025-02-10', '2025-02-15', "
            "'favorable', '{{}}', now(), now())"
        ],
        ["legal_review {new} was added outside the API"],
        id="legal-review-inserted",
    ),
    pytest.param(
        ["DELETE FROM registrations WHERE id = '{registration}'"],
        ["registration {registration} was removed outside the API"],
        id="registration-deleted",
    ),
    pytest.param(
        ["UPDATE evidence_documents SET sha256 = repeat('ab', 32) WHERE id = '{evidence}'"],
        ["evidence {evidence} was changed outside the API"],
        id="evidence-hash-changed",
    ),
    pytest.param(
        ["UPDATE measurements SET value = 4 WHERE id = '{measurement}'"],
        ["measurement {measurement} was changed outside the API"],
        id="measurement-value-changed",
    ),
    pytest.param(
        ["DELETE FROM measurement_evidence WHERE measurement_id = '{measurement}'"],
        ["measurement {measurement} was changed outside the API"],
        id="measurement-evidence-unlinked",
    ),
    pytest.param(
        ["UPDATE activities SET place = 'Zapopan' WHERE id = '{activity}'"],
        ["activity {activity} was changed outside the API"],
        id="activity-moved",
    ),
    pytest.param(
        ["DELETE FROM activity_links WHERE activity_id = '{activity}'"],
        ["activity {activity} was changed outside the API"],
        id="activity-target-unlinked",
    ),
    pytest.param(
        ["UPDATE calendar_tokens SET organization_id = '{university}' WHERE id = '{calendar_token}'"],
        ["calendar_token {calendar_token} was changed outside the API"],
        id="calendar-token-moved",
    ),
    pytest.param(
        ["UPDATE webhook_subscriptions SET url = 'https://203.0.113.9/steal' WHERE id = '{webhook}'"],
        ["webhook {webhook} was changed outside the API"],
        id="webhook-redirected",
    ),
]


@pytest.mark.parametrize(("statements", "expected"), TAMPERING)
async def test_rows_changed_outside_the_api_are_named(
    copy: str, registry: Registry, statements: list[str], expected: list[str]
) -> None:
    ids = {k: getattr(registry, k) for k in Registry.__slots__} | {"new": str(uuid.uuid4())}
    await sql(copy, *(s.format_map(ids) for s in statements))
    assert_reported(await verify(copy), *(e.format_map(ids) for e in expected))


async def test_a_kind_in_the_log_that_no_package_registered_is_reported(
    copy: str, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if the calendar package had logged its tokens but never registered how to rebuild them.
    monkeypatch.delitem(log_registry._KINDS, "calendar_token")
    index = await entry_index(copy, "calendar_token", registry.calendar_token)
    engine = make_engine(copy, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            report = await verify_log(session)
    finally:
        await engine.dispose()
    assert report.problems == [
        f"the log records 'calendar_token' rows (e.g. entry {index}) but no loader is registered to recompute them"
    ]


def unlocked(table: str, *statements: str) -> list[str]:
    """Statements run with the table's append-only trigger off: the tampering to catch."""
    trigger = f"{table}_no_update_delete"
    return [
        f"ALTER TABLE {table} DISABLE TRIGGER {trigger}",
        *statements,
        f"ALTER TABLE {table} ENABLE TRIGGER {trigger}",
    ]


async def entry_index(url: str, resource_type: str, resource_id: str) -> int:
    conn = await asyncpg.connect(plain(url))
    try:
        index = await conn.fetchval(
            "SELECT min(index) FROM log_entries WHERE resource_type = $1 AND resource_id = $2",
            resource_type,
            resource_id,
        )
    finally:
        await conn.close()
    assert index is not None
    return int(index)


async def test_an_altered_log_entry_is_reported(copy: str, registry: Registry) -> None:
    index = await entry_index(copy, "agreement", registry.agreement)
    # Who created the agreement is rewritten: the entry no longer hashes to its stored leaf.
    await sql(
        copy,
        *unlocked(
            "log_entries",
            f"UPDATE log_entries SET actor_org_id = '{registry.university}' WHERE index = {index}",  # noqa: S608
        ),
    )
    verdict = await verify(copy)
    assert verdict.returncode == 1
    assert f"log entry {index}: its fields do not hash to its stored leaf hash (entry changed)" in verdict.problems
    # The subtrees stored above that leaf no longer match it either; nothing else is accused.
    others = [p for p in verdict.problems if not p.startswith(f"log entry {index}:")]
    assert others
    assert all(p.startswith("Merkle node level ") for p in others), others


async def test_an_altered_resource_hash_in_the_log_is_reported(copy: str, registry: Registry) -> None:
    index = await entry_index(copy, "registration", registry.registration)
    await sql(
        copy,
        *unlocked("log_entries", f"UPDATE log_entries SET resource_sha256 = repeat('0', 64) WHERE index = {index}"),  # noqa: S608
    )
    verdict = await verify(copy)
    assert verdict.returncode == 1
    assert f"log entry {index}: its fields do not hash to its stored leaf hash (entry changed)" in verdict.problems
    assert any(
        p.startswith(f"log entry {index}: the stored document of registration {registry.registration}")
        for p in verdict.problems
    ), verdict.problems


# --- checkpoints ------------------------------------------------------------------------------------


@pytest.fixture
def key_env() -> dict[str, str]:
    return {"PACTA_LOG_SIGNING_KEY": conftest.LOG_SIGNING_SEED}


async def save_checkpoint(url: str, folder: Path, key_env: dict[str, str]) -> tuple[Path, dict[str, Any]]:
    result = await pacta(url, "log", "checkpoint", **key_env)
    assert result.returncode == 0, result.stderr
    path = folder / "checkpoint.json"
    path.write_text(result.stdout)
    saved: dict[str, Any] = json.loads(result.stdout)
    return path, saved


async def more_writes(url: str, registry: Registry) -> None:
    async with api(url) as client:
        headers = conftest.bearer(registry.admin)
        await created(
            await client.post(
                "/v1/organizations",
                json={"name": "Cámara de Comercio de Guadalajara", "kind": "business_chamber"},
                headers=headers,
            )
        )
        await created(
            await client.post(
                f"/v1/agreements/{registry.agreement}/legal-reviews",
                json={"kind": "internal_legal", "requested_on": "2025-01-05"},
                headers=headers,
            )
        )


async def test_checkpoint_command_prints_a_signed_checkpoint(
    copy: str, key_env: dict[str, str], tmp_path: Path
) -> None:
    _, saved = await save_checkpoint(copy, tmp_path, key_env)
    conn = await asyncpg.connect(plain(copy))
    try:
        assert saved["tree_size"] == await conn.fetchval("SELECT size FROM log_head")
    finally:
        await conn.close()
    assert saved["note"].startswith(f"pacta-registry\n{saved['tree_size']}\n")
    assert (await verify(copy)).summary.endswith(f"root {saved['root_hash']}")


async def test_checkpoint_command_without_a_key_refuses_in_one_line(copy: str) -> None:
    result = await pacta(copy, "log", "checkpoint")
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.startswith("pacta: ")
    assert "PACTA_LOG_SIGNING_KEY" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_log_that_only_grew_is_consistent_with_the_saved_checkpoint(
    copy: str, registry: Registry, key_env: dict[str, str], tmp_path: Path
) -> None:
    path, saved = await save_checkpoint(copy, tmp_path, key_env)
    await more_writes(copy, registry)
    verdict = await verify(copy, "--checkpoint", str(path))
    assert_clean(verdict)
    assert f"OK: {saved['tree_size'] + 2} log entries" in verdict.summary


async def test_a_rewritten_early_entry_breaks_the_saved_checkpoint(
    copy: str, registry: Registry, key_env: dict[str, str], tmp_path: Path
) -> None:
    path, saved = await save_checkpoint(copy, tmp_path, key_env)
    await more_writes(copy, registry)
    index = await entry_index(copy, "organization", registry.municipality)
    assert index < saved["tree_size"]
    await sql(copy, *unlocked("log_entries", f"UPDATE log_entries SET action = 'update' WHERE index = {index}"))  # noqa: S608
    verdict = await verify(copy, "--checkpoint", str(path))
    assert verdict.returncode == 1
    assert (
        f"the log is not consistent with the saved checkpoint of size {saved['tree_size']}: "
        f"its first {saved['tree_size']} entries were rewritten"
    ) in verdict.problems


async def rewrite_history(url: str, index: int, actor_org_id: str) -> None:
    """A careful forger: change who wrote entry `index`, then recompute its leaf hash and every
    stored subtree, so the database agrees with itself again."""
    conn = await asyncpg.connect(plain(url))
    try:
        rows = await conn.fetch(
            "SELECT index, at, actor_org_id, action, resource_type, resource_id, resource_sha256 "
            "FROM log_entries ORDER BY index"
        )
        entries = [LogEntry(**dict(r), leaf_hash=b"") for r in rows]
        entries[index].actor_org_id = uuid.UUID(actor_org_id)
        leaves = [leaf_hash(canonical_json(leaf_document(e))) for e in entries]
        nodes: list[tuple[int, int, bytes]] = []
        level, below = 0, leaves
        while len(below) >= 2:
            level += 1
            below = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            nodes.extend((level, i, h) for i, h in enumerate(below))
        async with conn.transaction():
            for table in ("log_entries", "log_nodes"):
                await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_update_delete")
            await conn.execute(
                "UPDATE log_entries SET actor_org_id = $1, leaf_hash = $2 WHERE index = $3",
                uuid.UUID(actor_org_id),
                leaves[index],
                index,
            )
            await conn.execute("DELETE FROM log_nodes")
            await conn.executemany('INSERT INTO log_nodes (level, "index", hash) VALUES ($1, $2, $3)', nodes)
            for table in ("log_entries", "log_nodes"):
                await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_update_delete")
    finally:
        await conn.close()


async def test_only_the_saved_checkpoint_catches_a_history_rewritten_with_care(
    copy: str, registry: Registry, key_env: dict[str, str], tmp_path: Path
) -> None:
    path, saved = await save_checkpoint(copy, tmp_path, key_env)
    index = await entry_index(copy, "agreement", registry.agreement)
    await rewrite_history(copy, index, registry.university)
    # The database alone is self-consistent again ...
    alone = await verify(copy)
    assert_clean(alone)
    assert not alone.summary.endswith(saved["root_hash"])
    # ... but not with the checkpoint signed before the rewrite.
    against = await verify(copy, "--checkpoint", str(path))
    assert_reported(against, f"the log is not consistent with the saved checkpoint of size {saved['tree_size']}")


def forged(saved: dict[str, Any], **changes: Any) -> str:
    return json.dumps(saved | changes)


async def test_a_checkpoint_with_a_broken_signature_is_reported(
    copy: str, key_env: dict[str, str], tmp_path: Path
) -> None:
    path, saved = await save_checkpoint(copy, tmp_path, key_env)
    signature = bytearray(base64.b64decode(saved["signature"]))
    signature[10] ^= 0x01
    path.write_text(forged(saved, signature=base64.b64encode(bytes(signature)).decode()))
    assert_reported(await verify(copy, "--checkpoint", str(path)), "the saved checkpoint's signature does not verify")

    # A note edited after signing does not verify either.
    note = saved["note"].replace(f"\n{saved['tree_size']}\n", f"\n{saved['tree_size'] - 1}\n", 1)
    path.write_text(forged(saved, note=note))
    assert_reported(await verify(copy, "--checkpoint", str(path)), "the saved checkpoint's signature does not verify")


async def test_checkpoint_fields_that_differ_from_the_signed_note_are_reported(
    copy: str, registry: Registry, key_env: dict[str, str], tmp_path: Path
) -> None:
    """The signature covers the note, not the JSON fields beside it: a file whose size and root
    were edited to fit a rewritten log must not pass for the checkpoint that was signed."""
    path, saved = await save_checkpoint(copy, tmp_path, key_env)
    index = await entry_index(copy, "agreement", registry.agreement)
    await rewrite_history(copy, index, registry.university)
    rewritten_root = (await verify(copy)).summary.rsplit("root ", 1)[1]
    path.write_text(forged(saved, root_hash=rewritten_root))
    assert_reported(
        await verify(copy, "--checkpoint", str(path)),
        "the saved checkpoint's tree_size or root_hash differ from its signed note",
        f"the log is not consistent with the saved checkpoint of size {saved['tree_size']}",
    )


async def test_a_log_cut_short_is_reported_against_the_saved_checkpoint(
    copy: str, registry: Registry, key_env: dict[str, str], tmp_path: Path
) -> None:
    path, saved = await save_checkpoint(copy, tmp_path, key_env)
    last = saved["tree_size"] - 1
    await sql(
        copy,
        "ALTER TABLE log_details DISABLE TRIGGER log_details_no_update_delete",
        f"DELETE FROM log_details WHERE index = {last}",  # noqa: S608
        "ALTER TABLE log_details ENABLE TRIGGER log_details_no_update_delete",
        *unlocked("log_entries", f"DELETE FROM log_entries WHERE index = {last}"),  # noqa: S608
        *unlocked(
            "log_nodes",
            f"DELETE FROM log_nodes WHERE index = ({last} >> level) AND ({last} + 1) % (1 << level) = 0",  # noqa: S608
        ),
        "UPDATE log_head SET size = size - 1",
    )
    verdict = await verify(copy, "--checkpoint", str(path))
    assert verdict.returncode == 1
    assert (
        f"the saved checkpoint covers {saved['tree_size']} entries but the log now holds {last}: entries were removed"
    ) in verdict.problems


async def test_verify_refuses_an_unreadable_checkpoint_file(copy: str, tmp_path: Path) -> None:
    path = tmp_path / "not-a-checkpoint.json"
    path.write_text('{"tree_size": 3}')
    result = await pacta(copy, "log", "verify", "--checkpoint", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"pacta: cannot read the checkpoint {path}")
    assert "Traceback" not in result.stderr
