"""GET /v1/exports/datapackage.zip: a Frictionless Data Package (v2) of every public row, valid
(`frictionless validate`: 0 errors), never holding a draft or a non-public child, cut at the log
checkpoint it carries, kept and served again while fresh."""

import base64
import csv
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import frictionless
import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db import make_sessionmaker
from app.exports import repository, service
from app.log.signing import verify
from app.main import create_app
from tests.conftest import MakeKey, MakeOrg
from tests.conftest import test_settings as settings_for
from tests.factories import (
    World,
    add_registration,
    add_review,
    assert_problem,
    counterpart,
    create_agreement,
    make_world,
)
from tests.targets.factories import (
    SIGNED_ON,
    Progress,
    create_target,
    review_evidence,
    upload_evidence,
)

PACKAGE = "/v1/exports/datapackage.zip"
RESOURCES = (
    "organizations",
    "agreements",
    "agreement_counterparts",
    "agreement_participants",
    "legal_reviews",
    "registrations",
    "targets",
    "milestones",
    "measurements",
    "evidence",
    "compliance_findings",
)
SECRET = "Observación interna: no publicar"


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test keeps its packages in a folder of its own."""
    folder = tmp_path / "exports"
    monkeypatch.setattr(service, "cache_dir", lambda: folder)
    return folder


@dataclass(frozen=True, slots=True)
class Registry:
    world: World
    ids: dict[str, str]


@pytest.fixture
async def registry(client: httpx2.AsyncClient, app: FastAPI, make_org: MakeOrg, make_key: MakeKey) -> Registry:
    """A public agreement with every kind of child, public and not, and a draft with children."""
    world = await make_world(make_org, make_key)
    editor = world.headers("editor")
    public = await create_agreement(
        client,
        editor,
        world.signatory.id,
        title="Hermanamiento Querétaro - Kyōto",
        signed_on=SIGNED_ON.isoformat(),
        counterparts=[counterpart("Kyōto", "JP", region="Kansai"), counterpart("Ciudad de Guatemala", "GT")],
        participant_org_ids=[str(world.participant.id)],
        summary='=HYPERLINK("http://example.invalid")',
    )
    review = await add_review(client, editor, public["id"], observations=SECRET, checks={"within_competence": True})
    registration = await add_registration(client, editor, public["id"], observations=SECRET)
    target = await create_target(client, editor, public["id"])
    progress = Progress(client, app, world, public["id"])
    verified = await progress.add(target["id"], SIGNED_ON.replace(month=6), 12)
    reported = await progress.add(target["id"], SIGNED_ON.replace(month=8), 14, decision=None)
    accepted = await upload_evidence(client, world.headers("participant"), public["id"], title="Acta de instalación")
    await review_evidence(client, editor, accepted["id"], "accepted")
    submitted = await upload_evidence(client, world.headers("participant"), public["id"], title="Sin revisar")

    draft = await create_agreement(
        client, editor, world.signatory.id, title="Borrador secreto", counterparts=[counterpart("Oslo", "NO")]
    )
    draft_target = await create_target(client, editor, draft["id"])
    draft_review = await add_review(client, editor, draft["id"])
    ids = {
        "public": public["id"],
        "review": review["id"],
        "registration": registration["id"],
        "target": target["id"],
        "verified": verified,
        "reported": reported,
        "accepted": accepted["id"],
        "submitted": submitted["id"],
        "draft": draft["id"],
        "draft_target": draft_target["id"],
        "draft_review": draft_review["id"],
    }
    return Registry(world, ids)


def leftovers(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def unzip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def table(files: dict[str, bytes], name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files[f"data/{name}.csv"].decode())))


async def download(client: httpx2.AsyncClient, **headers: str) -> httpx2.Response:
    response = await client.get(PACKAGE, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "pacta-datapackage.zip" in response.headers["content-disposition"]
    return response


async def test_the_package_validates_with_frictionless(
    client: httpx2.AsyncClient, registry: Registry, tmp_path: Path
) -> None:
    response = await download(client)
    path = tmp_path / "package.zip"
    path.write_bytes(response.content)
    report = frictionless.validate(str(path))
    errors = [(e.type, e.note) for task in report.tasks for e in task.errors]
    assert report.valid, errors
    assert errors == []
    files = unzip(response.content)
    descriptor = json.loads(files["datapackage.json"])
    assert descriptor["$schema"] == "https://datapackage.org/profiles/2.0/datapackage.json"
    assert [r["name"] for r in descriptor["resources"]] == list(RESOURCES)
    for resource in descriptor["resources"]:
        assert resource["schema"]["primaryKey"]
        assert f"data/{resource['name']}.csv" in files


async def test_only_public_rows_and_fields(client: httpx2.AsyncClient, registry: Registry) -> None:
    files = unzip((await download(client)).content)
    everything = b"".join(files.values()).decode()
    ids = registry.ids
    for hidden in ("draft", "draft_target", "draft_review", "reported", "submitted"):
        assert ids[hidden] not in everything, hidden
    assert SECRET not in everything
    assert "Borrador secreto" not in everything
    assert "Oslo" not in everything

    (agreement,) = table(files, "agreements")
    assert agreement["id"] == ids["public"]
    assert agreement["title"] == "Hermanamiento Querétaro - Kyōto"
    assert agreement["summary"] == '=HYPERLINK("http://example.invalid")'  # data, exactly as the API has it
    assert (agreement["status"], agreement["signed_on"]) == ("in_force", SIGNED_ON.isoformat())
    assert [(c["position"], c["name"], c["country"], c["region"]) for c in table(files, "agreement_counterparts")] == [
        ("1", "Kyōto", "JP", "Kansai"),
        ("2", "Ciudad de Guatemala", "GT", ""),
    ]
    assert [p["organization_id"] for p in table(files, "agreement_participants")] == [
        str(registry.world.participant.id)
    ]
    (review,) = table(files, "legal_reviews")
    assert (review["id"], review["checks_within_competence"]) == (ids["review"], "true")
    assert "observations" not in review
    assert [r["id"] for r in table(files, "registrations")] == [ids["registration"]]
    assert [t["id"] for t in table(files, "targets")] == [ids["target"]]
    assert [(m["months"], m["target_value"]) for m in table(files, "milestones")] == [
        ("6", "10"),
        ("12", "25"),
        ("24", "60"),
    ]
    assert [m["id"] for m in table(files, "measurements")] == [ids["verified"]]
    (evidence,) = [e for e in table(files, "evidence") if e["id"] == ids["accepted"]]
    assert evidence["content_url"] == f"http://testserver/v1/evidence/{ids['accepted']}/content"
    assert len(evidence["sha256"]) == 64
    findings = table(files, "compliance_findings")
    assert findings
    assert {f["agreement_id"] for f in findings} == {ids["public"]}
    assert ids["reported"] not in {f["subject_id"] for f in findings}
    # Every foreign key resolves (frictionless checks it too).
    orgs = {o["id"] for o in table(files, "organizations")}
    assert agreement["signatory_org_id"] in orgs
    assert {m["reported_by_org_id"] for m in table(files, "measurements")} <= orgs
    assert {e["uploaded_by_org_id"] for e in table(files, "evidence")} <= orgs


async def test_checkpoint_is_the_logs_at_that_time(client: httpx2.AsyncClient, registry: Registry) -> None:
    current = (await client.get("/v1/log/checkpoint")).json()
    response = await download(client)
    files = unzip(response.content)
    checkpoint = json.loads(files["checkpoint.json"])
    assert (checkpoint["tree_size"], checkpoint["root_hash"]) == (current["tree_size"], current["root_hash"])
    body = checkpoint["note"].split("\n\n")[0] + "\n"
    assert verify(base64.b64decode(checkpoint["public_key"]), body, base64.b64decode(checkpoint["signature"]))
    assert checkpoint["root_hash"][:32] in response.headers["etag"]


async def test_kept_while_fresh_then_rebuilt(
    client: httpx2.AsyncClient, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await download(client)
    etag = first.headers["etag"]
    again = await client.get(PACKAGE, headers={"If-None-Match": etag})
    assert again.status_code == 304
    # A write moves the log on; while fresh, the kept package (and its checkpoint) is served.
    await create_agreement(client, registry.world.headers("editor"), registry.world.signatory.id, title="Otro")
    kept = await download(client)
    assert kept.headers["etag"] == etag
    monkeypatch.setattr(service, "MAX_AGE_SECONDS", 0.0)
    rebuilt = await download(client)
    assert rebuilt.headers["etag"] != etag
    size = json.loads(unzip(rebuilt.content)["checkpoint.json"])["tree_size"]
    assert size == (await client.get("/v1/log/checkpoint")).json()["tree_size"]


async def test_a_flood_of_host_headers_keeps_a_bounded_number_of_packages_on_disk(
    client: httpx2.AsyncClient, registry: Registry, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without PACTA_PUBLIC_URL every Host is a package of its own (its URLs differ): the disk holds
    # at most KEEP_IN_ALL of them, the newest, and the one just built is always among them.
    monkeypatch.setattr(service, "KEEP_IN_ALL", 2)
    for host in ("a.example", "b.example", "c.example"):
        response = await client.get(PACKAGE, headers={"Host": host})
        assert response.status_code == 200
        evidence = unzip(response.content)["data/evidence.csv"]
        assert f"http://{host}/".encode() in evidence
    assert len([name for name in leftovers(fresh_cache) if name.endswith(".zip")]) == 2


async def test_a_bad_key_is_refused(client: httpx2.AsyncClient) -> None:
    assert_problem(await client.get(PACKAGE, headers={"Authorization": "Bearer nope"}), 401)


async def test_the_snapshot_is_one_read_only_repeatable_read_transaction(engine: AsyncEngine) -> None:
    """Outside the tests' own transaction (the service's pool): every read shares one snapshot."""
    async with repository.snapshot(make_sessionmaker(engine)) as session:
        isolation = (await session.execute(text("SHOW transaction_isolation"))).scalar_one()
        read_only = (await session.execute(text("SHOW transaction_read_only"))).scalar_one()
        timeout = (await session.execute(text("SHOW statement_timeout"))).scalar_one()
    assert (isolation, read_only, timeout) == ("repeatable read", "on", "15min")
    async with engine.connect() as connection:  # the pooled connection is back to the defaults
        assert (await connection.execute(text("SHOW transaction_isolation"))).scalar_one() == "read committed"


async def test_without_a_signing_key_there_is_no_checkpoint_to_cut_at(
    sessionmaker: async_sessionmaker[AsyncSession], fresh_cache: Path
) -> None:
    unsigned = create_app(settings_for(log_signing_key=None))
    unsigned.state.sessionmaker = sessionmaker
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=unsigned), base_url="http://testserver") as c:
        body = assert_problem(await c.get(PACKAGE), 503)
    assert body["type"] == "/problems/log-signing-key-missing"
    assert leftovers(fresh_cache) == []  # no half-built file is left


async def test_findings_speak_the_callers_language(client: httpx2.AsyncClient, registry: Registry) -> None:
    spanish = await download(client, **{"Accept-Language": "es-MX"})
    english = await download(client, **{"Accept-Language": "en"})
    assert (spanish.headers["content-language"], english.headers["content-language"]) == ("es-MX", "en-US")
    assert "accept-language" in english.headers["vary"].lower()
    assert spanish.headers["etag"] != english.headers["etag"]
    titles = {
        lang: {f["rule"]: f["title"] for f in table(unzip(r.content), "compliance_findings")}
        for lang, r in (("es", spanish), ("en", english))
    }
    assert titles["es"].keys() == titles["en"].keys()
    assert all(titles["es"][rule] != titles["en"][rule] for rule in titles["es"])
