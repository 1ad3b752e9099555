"""Evidence documents through the API: upload, type judged by bytes, refusals that keep nothing,
interrupted uploads, who may upload, review and read, and the content download (ETag, Range).

Storage is a real folder per test, so "nothing kept" is checked by listing what is on disk.
"""

import gc
import hashlib
import io
import json
import random
import re
import struct
import uuid
import warnings
import zipfile
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx2
import pytest
import rfc8785
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Message

from app.main import create_app
from tests.conftest import MakeKey, MakeOrg
from tests.conftest import test_settings as settings_with
from tests.factories import (
    ACTORS,
    AGREEMENTS,
    TODAY,
    World,
    assert_problem,
    count,
    create_agreement,
    iso,
    make_world,
    moment,
    pin_today,
    walk,
)
from tests.targets.factories import make_agreement

# --- files, judged by their bytes --------------------------------------------------------------------


def pdf(tag: str = "") -> bytes:
    """A small PDF; `tag` makes its content (and hash) unique."""
    return (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        + f"% {tag}\n".encode()
        + b"% Informe de avance del hermanamiento\n" * 40
        + b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\xff\xdb\x00\x43\x00" + bytes(range(64)) + b"\xff\xd9"


def webp() -> bytes:
    lossless = b"\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(lossless)) + lossless
    return b"RIFF" + struct.pack("<I", len(body)) + body


def zipped(entries: list[tuple[str, bytes]], *, first_stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for position, (name, data) in enumerate(entries):
            stored = first_stored and position == 0
            archive.writestr(
                zipfile.ZipInfo(name, date_time=(2025, 6, 1, 12, 0, 0)),
                data,
                compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
            )
    return buffer.getvalue()


CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
RELS = b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'


def docx() -> bytes:
    return zipped(
        [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", RELS),
            ("word/document.xml", b"<w:document><w:body>Acta de cabildo</w:body></w:document>"),
        ]
    )


def xlsx() -> bytes:
    return zipped(
        [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", RELS),
            ("xl/workbook.xml", b"<workbook><sheets/></workbook>"),
        ]
    )


def odt() -> bytes:
    return zipped(
        [
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", b"<office:document-content>Informe</office:document-content>"),
            ("META-INF/manifest.xml", b"<manifest:manifest/>"),
        ],
        first_stored=True,
    )


def random_binary() -> bytes:
    return random.Random(20250615).randbytes(4096)


MEDIA_PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(56) + b"\x02\x00\x3e\x00" * 8
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + bytes(48)
    + b"This program cannot be run in DOS mode."
)

# --- fixtures and helpers ------------------------------------------------------------------------------


@pytest.fixture
def evidence_dir(tmp_path: Path) -> Path:
    return tmp_path / "evidence"


@pytest.fixture
def app(sessionmaker: async_sessionmaker[AsyncSession], evidence_dir: Path) -> FastAPI:
    """The conftest app, but storing into this test's own folder and living on the pinned day."""
    application = create_app(settings_with(storage_url=evidence_dir.as_uri()))
    application.state.sessionmaker = sessionmaker
    pin_today(application, TODAY)
    return application


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@pytest.fixture
async def public(client: httpx2.AsyncClient, world: World) -> dict[str, Any]:
    """A signed (public) agreement of the signatory that lists the participant."""
    return await create_agreement(
        client,
        world.headers("editor"),
        world.signatory.id,
        participant_org_ids=[str(world.participant.id)],
        signed_on=iso(-30),
    )


@pytest.fixture
async def private(client: httpx2.AsyncClient, world: World) -> dict[str, Any]:
    """A draft (private) agreement of the signatory that lists the participant."""
    return await create_agreement(
        client,
        world.headers("editor"),
        world.signatory.id,
        title="Borrador de hermanamiento con Lyon",
        participant_org_ids=[str(world.participant.id)],
    )


def evidence_url(agreement: dict[str, Any]) -> str:
    return f"{AGREEMENTS}/{agreement['id']}/evidence"


async def upload(
    client: httpx2.AsyncClient,
    agreement: dict[str, Any],
    headers: dict[str, str],
    content: bytes,
    *,
    filename: str = "informe.pdf",
    content_type: str = "application/pdf",
    **fields: str,
) -> httpx2.Response:
    data = {"title": "Informe de avance", "document_type": "progress_report", **fields}
    return await client.post(
        evidence_url(agreement), files={"file": (filename, content, content_type)}, data=data, headers=headers
    )


async def uploaded(
    client: httpx2.AsyncClient, agreement: dict[str, Any], headers: dict[str, str], content: bytes, **fields: str
) -> dict[str, Any]:
    response = await upload(client, agreement, headers, content, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def review(
    client: httpx2.AsyncClient,
    document: dict[str, Any],
    headers: dict[str, str],
    decision: str,
    note: str | None = None,
) -> httpx2.Response:
    body: dict[str, Any] = {"decision": decision}
    if note is not None:
        body["note"] = note
    return await client.post(f"/v1/evidence/{document['id']}/review", json=body, headers=headers)


async def reviewed(
    client: httpx2.AsyncClient, world: World, document: dict[str, Any], decision: str, note: str | None = None
) -> dict[str, Any]:
    response = await review(client, document, world.headers("editor"), decision, note)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def stored_files(folder: Path) -> set[str]:
    """Every file in the storage folder, temporary ones included."""
    if not folder.exists():
        return set()
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}


def stored_path(sha: str) -> str:
    return f"sha256/{sha[:2]}/{sha}"


async def state(session: AsyncSession, folder: Path) -> tuple[int, int, set[str]]:
    """What any upload would add to: evidence rows, log entries, stored files."""
    return (await count(session, "evidence_documents"), await count(session, "log_entries"), stored_files(folder))


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# --- upload ------------------------------------------------------------------------------------------


async def test_upload_returns_the_document_judged_from_its_bytes(
    client: httpx2.AsyncClient, world: World, public: dict[str, Any], evidence_dir: Path
) -> None:
    content = pdf("photo")
    # A PDF named like a photo and declared as one is still a PDF.
    response = await upload(
        client,
        public,
        world.headers("participant"),
        content,
        filename="photo.png",
        content_type="image/png",
        title="Constancias de capacitación",
        document_type="training_certificate",
        description="Constancias del taller de exportación.",
        language="es",
        document_date="2025-06-01",
    )
    assert response.status_code == 201, response.text
    document = response.json()
    sha = sha256_of(content)
    assert document["filename"] == "photo.png"
    assert document["media_type"] == MEDIA_PDF
    assert document["size_bytes"] == len(content)
    assert document["sha256"] == sha
    assert document["uploaded_by_org_id"] == str(world.participant.id)
    assert document["agreement_id"] == public["id"]
    assert document["status"] == "submitted"
    assert (document["review_note"], document["reviewed_at"], document["supersedes_id"]) == (None, None, None)
    assert document["title"] == "Constancias de capacitación"
    assert document["document_type"] == "training_certificate"
    assert (document["language"], document["document_date"]) == ("es", "2025-06-01")
    assert document["description"] == "Constancias del taller de exportación."
    assert document["content_url"].endswith(f"/v1/evidence/{document['id']}/content")
    assert moment(document["uploaded_at"]).tzinfo is not None
    assert response.headers["location"].endswith(f"/v1/evidence/{document['id']}")
    assert stored_files(evidence_dir) == {stored_path(sha)}

    again = await client.get(response.headers["location"], headers=world.headers("participant"))
    assert again.status_code == 200
    assert again.json() == document

    content_response = await client.get(document["content_url"], headers=world.headers("participant"))
    assert content_response.status_code == 200
    assert content_response.headers["content-type"].split(";")[0] == MEDIA_PDF


async def test_the_upload_log_entry_holds_the_file_hash(
    client: httpx2.AsyncClient, world: World, public: dict[str, Any], session: AsyncSession
) -> None:
    content = pdf("logged")
    document = await uploaded(client, public, world.headers("participant"), content)

    row = (
        await session.execute(
            text(
                "SELECT e.resource_sha256, e.actor_org_id, d.document::text AS document, d.agreement_id "
                "FROM log_entries e JOIN log_details d ON d.index = e.index "
                "WHERE e.resource_type = 'evidence' AND e.resource_id = :id AND e.action = 'create'"
            ),
            {"id": document["id"]},
        )
    ).one()
    await session.commit()
    logged: dict[str, Any] = json.loads(row.document)
    assert logged["sha256"] == sha256_of(content)
    assert logged["id"] == document["id"]
    assert logged["size_bytes"] == len(content)
    assert row.actor_org_id == world.participant.id
    assert str(row.agreement_id) == public["id"]
    # Anyone holding the document can re-check the entry's hash.
    assert row.resource_sha256 == hashlib.sha256(rfc8785.dumps(logged)).hexdigest()

    # The public log serves that entry, and the provenance endpoint points to it with the document.
    provenance = await client.get(f"/v1/evidence/{document['id']}/provenance", headers=world.headers("participant"))
    assert provenance.status_code == 200, provenance.text
    proof = provenance.json()
    assert proof["sha256"] == sha256_of(content)
    assert proof["document"] == logged
    entries = await client.get("/v1/log/entries", params={"start": proof["log_index"], "end": proof["log_index"] + 1})
    assert entries.status_code == 200, entries.text
    [entry] = entries.json()["entries"]
    assert entry == proof["entry"]
    assert (entry["resource_type"], entry["resource_id"], entry["action"]) == ("evidence", document["id"], "create")
    assert entry["resource_sha256"] == row.resource_sha256


@pytest.mark.parametrize(
    ("content", "filename", "media_type"),
    [
        (pdf("kind"), "acta.pdf", MEDIA_PDF),
        (png(), "foto.png", "image/png"),
        (jpeg(), "foto.jpg", "image/jpeg"),
        (webp(), "foto.webp", "image/webp"),
        (docx(), "minuta.docx", DOCX),
        (xlsx(), "indicadores.xlsx", XLSX),
        (odt(), "informe.odt", ODT),
        ("empresa,asistentes\nAceros del Bajío,12\nTequila Añejo SA,7\n".encode(), "asistencia.csv", "text/csv"),
        ("Reunión técnica en Kraków: 14 participantes.\n".encode(), "notas.txt", "text/plain"),
    ],
    ids=["pdf", "png", "jpeg", "webp", "docx", "xlsx", "odt", "csv", "text"],
)
async def test_accepted_types_are_recognized_by_their_bytes(
    client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    content: bytes,
    filename: str,
    media_type: str,
) -> None:
    # The client's word is always the same generic type: only the bytes count.
    response = await upload(
        client, public, world.headers("editor"), content, filename=filename, content_type="application/octet-stream"
    )
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["media_type"] == media_type
    assert (document["sha256"], document["size_bytes"]) == (sha256_of(content), len(content))

    download = await client.get(document["content_url"], headers=world.headers("editor"))
    assert download.content == content
    assert download.headers["content-type"].split(";")[0] == media_type


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (ELF, "informe.pdf", "application/pdf"),
        (EXE, "constancia.pdf", "application/pdf"),
        (zipped([("notas.txt", b"hola"), ("datos.bin", bytes(range(256)))]), "minuta.docx", DOCX),
        (random_binary(), "foto.jpg", "image/jpeg"),
        (
            b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00;",
            "f.png",
            "image/png",
        ),
        (b"", "vacio.txt", "text/plain"),
    ],
    ids=["elf", "exe", "plain-zip", "random-binary", "gif", "empty"],
)
async def test_other_types_are_refused_with_415_and_nothing_is_kept(
    client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    session: AsyncSession,
    evidence_dir: Path,
    content: bytes,
    filename: str,
    content_type: str,
) -> None:
    before = await state(session, evidence_dir)
    response = await upload(
        client, public, world.headers("participant"), content, filename=filename, content_type=content_type
    )
    assert_problem(response, 415)
    assert await state(session, evidence_dir) == before
    assert stored_files(evidence_dir) == set()


async def test_a_declared_sha256_that_does_not_match_is_422_and_nothing_is_kept(
    client: httpx2.AsyncClient, world: World, public: dict[str, Any], session: AsyncSession, evidence_dir: Path
) -> None:
    content = pdf("declared")
    before = await state(session, evidence_dir)
    wrong = sha256_of(b"another file")
    response = await upload(client, public, world.headers("participant"), content, sha256=wrong)
    problem = assert_problem(response, 422, loc=["body", "sha256"])
    assert sha256_of(content) in problem["detail"]
    assert await state(session, evidence_dir) == before
    assert stored_files(evidence_dir) == set()

    right = await upload(client, public, world.headers("participant"), content, sha256=sha256_of(content))
    assert right.status_code == 201, right.text
    assert right.json()["sha256"] == sha256_of(content)


async def test_the_same_content_twice_on_one_agreement_is_409_naming_the_first(
    client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    private: dict[str, Any],
    session: AsyncSession,
    evidence_dir: Path,
) -> None:
    content = pdf("twice")
    first = await uploaded(client, public, world.headers("participant"), content)
    before = await state(session, evidence_dir)

    response = await upload(
        client, public, world.headers("editor"), content, filename="otra-copia.pdf", title="Otra copia"
    )
    problem = assert_problem(response, 409)
    assert problem["existing_id"] == first["id"]
    assert first["id"] in problem["detail"]
    assert await state(session, evidence_dir) == before

    # Another agreement may hold the same content; the bytes are stored once.
    elsewhere = await uploaded(client, private, world.headers("editor"), content)
    assert elsewhere["sha256"] == first["sha256"]
    assert elsewhere["id"] != first["id"]
    assert stored_files(evidence_dir) == {stored_path(first["sha256"])}
    download = await client.get(elsewhere["content_url"], headers=world.headers("editor"))
    assert download.content == content


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\y.pdf", "y.pdf"),
        ("/var/lib/pacta/evidence/sha256/ab/informe.pdf", "informe.pdf"),
    ],
)
async def test_filenames_are_for_display_only_never_a_storage_path(
    client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    evidence_dir: Path,
    tmp_path: Path,
    filename: str,
    shown: str,
) -> None:
    content = pdf(filename)
    response = await upload(client, public, world.headers("participant"), content, filename=filename)
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["filename"] == shown
    # Only the content address was written, and nothing outside the storage folder.
    assert stored_files(evidence_dir) == {stored_path(sha256_of(content))}
    assert {Path(name).name for name in stored_files(tmp_path)} == {sha256_of(content)}

    download = await client.get(document["content_url"], headers=world.headers("participant"))
    assert download.content == content
    assert f'filename="{shown}"' in download.headers["content-disposition"]


async def test_a_replacement_points_to_the_document_it_supersedes(
    client: httpx2.AsyncClient, world: World, public: dict[str, Any]
) -> None:
    old = await uploaded(client, public, world.headers("participant"), pdf("v1"))
    new = await uploaded(
        client, public, world.headers("participant"), pdf("v2"), title="Versión corregida", supersedes_id=old["id"]
    )
    assert new["supersedes_id"] == old["id"]

    # Nothing is overwritten: the old document stays, unchanged, with its own content.
    still = await client.get(f"/v1/evidence/{old['id']}", headers=world.headers("editor"))
    assert still.status_code == 200
    assert still.json() == old
    old_content = await client.get(old["content_url"], headers=world.headers("editor"))
    assert old_content.content == pdf("v1")
    listed = await walk(client, evidence_url(public), world.headers("editor"))
    assert {d["id"] for d in listed} == {old["id"], new["id"]}


@pytest.mark.parametrize("which", ["other-agreement", "unknown"])
async def test_supersedes_id_must_be_a_document_of_the_same_agreement(
    client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    private: dict[str, Any],
    session: AsyncSession,
    evidence_dir: Path,
    which: str,
) -> None:
    foreign = await uploaded(client, private, world.headers("editor"), pdf("foreign"))
    target = foreign["id"] if which == "other-agreement" else str(uuid.uuid4())
    before = await state(session, evidence_dir)
    response = await upload(client, public, world.headers("editor"), pdf("replacement"), supersedes_id=target)
    assert_problem(response, 422, loc=["body", "supersedes_id"])
    assert await state(session, evidence_dir) == before


async def test_target_id_must_be_a_target_of_the_agreement(
    client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    private: dict[str, Any],
    session: AsyncSession,
    evidence_dir: Path,
) -> None:
    targets = {}
    for agreement in (public, private):
        response = await client.post(
            f"{AGREEMENTS}/{agreement['id']}/targets",
            json={
                "indicator": "certified_trainings",
                "title": "Capacitaciones certificadas",
                "measure": "count",
                "baseline": {"value": 0, "on": iso(-30)},
                "milestones": [{"months": 6, "target_value": 5}, {"months": 12, "target_value": 12}],
            },
            headers=world.headers("editor"),
        )
        assert response.status_code == 201, response.text
        targets[agreement["id"]] = response.json()["id"]

    document = await uploaded(
        client, public, world.headers("participant"), pdf("target"), target_id=targets[public["id"]]
    )
    assert document["target_id"] == targets[public["id"]]

    before = await state(session, evidence_dir)
    for wrong in (targets[private["id"]], str(uuid.uuid4())):
        response = await upload(client, public, world.headers("participant"), pdf(f"t-{wrong}"), target_id=wrong)
        assert_problem(response, 422, loc=["body", "target_id"])
    assert await state(session, evidence_dir) == before


@pytest.mark.parametrize("language", ["zz", "EN", "spa", "e"])
async def test_language_must_be_iso_639_1(
    client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    session: AsyncSession,
    evidence_dir: Path,
    language: str,
) -> None:
    before = await state(session, evidence_dir)
    response = await upload(client, public, world.headers("participant"), pdf("lang"), language=language)
    assert_problem(response, 422, loc=["body", "language"])
    assert await state(session, evidence_dir) == before


@pytest.mark.parametrize(
    ("fields", "with_file", "loc"),
    [
        ({"document_type": "progress_report"}, True, ["body", "title"]),
        ({"title": "Informe"}, True, ["body", "document_type"]),
        ({"title": "Informe", "document_type": "selfie"}, True, ["body", "document_type"]),
        (
            {"title": "Informe", "document_type": "other", "document_date": "2025-02-30"},
            True,
            ["body", "document_date"],
        ),
        ({"title": "Informe", "document_type": "other", "sha256": "not-a-hash"}, True, ["body", "sha256"]),
        ({"title": "Informe", "document_type": "other"}, False, ["body", "file"]),
    ],
    ids=["no-title", "no-type", "unknown-type", "impossible-date", "malformed-sha256", "no-file"],
)
async def test_a_form_that_breaks_the_schema_is_422(
    client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    session: AsyncSession,
    evidence_dir: Path,
    fields: dict[str, str],
    with_file: bool,
    loc: list[str | int],
) -> None:
    before = await state(session, evidence_dir)
    # Without the file the body is still multipart: the document sits in a part of another name.
    files = {"file" if with_file else "attachment": ("informe.pdf", pdf("schema"), "application/pdf")}
    response = await client.post(evidence_url(public), data=fields, files=files, headers=world.headers("editor"))
    assert_problem(response, 422, loc=loc)
    assert await state(session, evidence_dir) == before


async def test_a_retried_upload_with_the_same_idempotency_key_returns_the_first_document(
    client: httpx2.AsyncClient, world: World, public: dict[str, Any], session: AsyncSession, evidence_dir: Path
) -> None:
    headers = {**world.headers("participant"), "Idempotency-Key": "subida-lista-001"}
    content = pdf("retried")
    files = {"file": ("lista.pdf", content, "application/pdf")}
    data = {"title": "Lista", "document_type": "attendance_list"}
    # A fixed boundary makes the retry byte-identical, as a client resending its request would.
    boundary = {"Content-Type": "multipart/form-data; boundary=pacta-test-boundary"}
    first = await client.post(evidence_url(public), files=files, data=data, headers={**headers, **boundary})
    assert first.status_code == 201, first.text
    after_first = await state(session, evidence_dir)

    retry = await client.post(evidence_url(public), files=files, data=data, headers={**headers, **boundary})
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert await state(session, evidence_dir) == after_first


# --- size limit -----------------------------------------------------------------------------------------

SMALL_LIMIT = 4096


@pytest.fixture
async def small_client(
    sessionmaker: async_sessionmaker[AsyncSession], evidence_dir: Path
) -> AsyncIterator[httpx2.AsyncClient]:
    """An app whose uploads may hold at most 4 KiB (storing into the same folder)."""
    application = create_app(settings_with(storage_url=evidence_dir.as_uri(), max_upload_bytes=SMALL_LIMIT))
    application.state.sessionmaker = sessionmaker
    pin_today(application, TODAY)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=application), base_url="http://testserver"
    ) as small:
        yield small


def pdf_of_size(size: int) -> bytes:
    head = pdf("sized")
    return head + b"%" * (size - len(head))


async def test_a_file_of_exactly_the_limit_is_accepted(
    small_client: httpx2.AsyncClient, world: World, public: dict[str, Any]
) -> None:
    content = pdf_of_size(SMALL_LIMIT)
    response = await upload(small_client, public, world.headers("participant"), content)
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == SMALL_LIMIT


@pytest.mark.parametrize("size", [SMALL_LIMIT + 1, 200 * 1024], ids=["just-over", "far-over"])
async def test_over_the_upload_limit_is_413_and_nothing_is_kept(
    small_client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    session: AsyncSession,
    evidence_dir: Path,
    size: int,
) -> None:
    before = await state(session, evidence_dir)
    response = await upload(small_client, public, world.headers("participant"), pdf_of_size(size))
    assert_problem(response, 413)
    assert await state(session, evidence_dir) == before
    assert stored_files(evidence_dir) == set()


async def test_a_streamed_upload_without_length_is_cut_off_once_past_the_limit(
    small_client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    session: AsyncSession,
    evidence_dir: Path,
) -> None:
    boundary = "pacta-stream"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nVideo\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="document_type"\r\n\r\nother\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="grande.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    total = 64 * 1024 * 1024
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield head + pdf("stream")
        while sent < total:
            sent += 64 * 1024
            yield b"%" * (64 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    before = await state(session, evidence_dir)
    response = await small_client.post(
        evidence_url(public),
        content=body(),
        headers={**world.headers("participant"), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_problem(response, 413)
    # Refused once the limit was passed, not after reading the 64 MiB.
    assert sent < 1024 * 1024
    assert await state(session, evidence_dir) == before


# --- interrupted uploads ------------------------------------------------------------------------------


def multipart_body(boundary: str, content: bytes) -> bytes:
    return (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nLista\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="document_type"\r\n\r\nattendance_list\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="lista.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )


async def call_asgi(
    app: FastAPI, path: str, headers: dict[str, str], chunks: list[bytes], *, ends: str
) -> list[Message]:
    """Drive the app as a server would, with a body that stops early: the client disconnects
    (`disconnect`) or the body just ends (`truncated`)."""
    pending = list(chunks)
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            chunk = pending.pop(0)
            last = not pending and ends == "truncated"
            return {"type": "http.request", "body": chunk, "more_body": not last}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    return sent


@contextmanager
def unfinished_file_parts_collected() -> Iterator[None]:
    """Starlette's form parser never closes the spool file of a part that the body cut short
    (upstream: Kludex/python-multipart#325); the garbage collector does, with a ResourceWarning.
    Let it do so here, and accept that warning only, so it is not blamed on a later test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    for warning in caught:
        assert issubclass(warning.category, ResourceWarning), warning
        assert "SpooledTemporaryFile" in str(warning.message), warning


@pytest.mark.parametrize("ends", ["disconnect", "truncated"])
@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotency-key"])
async def test_an_interrupted_upload_keeps_nothing_and_is_no_500(
    app: FastAPI,
    client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    session: AsyncSession,
    evidence_dir: Path,
    ends: str,
    idempotent: bool,
) -> None:
    boundary = "pacta-interrupted"
    body = multipart_body(boundary, pdf("interrupted") + b"%" * (3 * 1024 * 1024))
    half = body[: len(body) // 2]
    chunks = [half[i : i + 64 * 1024] for i in range(0, len(half), 64 * 1024)]
    headers = {
        "host": "testserver",
        "content-type": f"multipart/form-data; boundary={boundary}",
        # A disconnect cuts a body announced in full; a truncated one is complete as HTTP, only the
        # multipart inside it stops before the file part (and the form) are closed.
        "content-length": str(len(body) if ends == "disconnect" else len(half)),
        **world.headers("participant"),
    }
    if idempotent:
        headers["idempotency-key"] = f"interrupted-{ends}"
    before = await state(session, evidence_dir)

    with unfinished_file_parts_collected():
        sent = await call_asgi(app, evidence_url(public), headers, chunks, ends=ends)

    statuses = [m["status"] for m in sent if m["type"] == "http.response.start"]
    assert all(400 <= s < 500 for s in statuses), sent
    assert await state(session, evidence_dir) == before
    assert stored_files(evidence_dir) == set()
    # The agreement is untouched and the whole file can be sent again. After a disconnect the key
    # was never used, so the retry may reuse it; a truncated body got its answer (and keeps it).
    listed = await client.get(evidence_url(public), headers=world.headers("participant"))
    assert listed.json()["items"] == []
    retry_headers = world.headers("participant")
    if idempotent:
        retry_headers["Idempotency-Key"] = f"interrupted-{ends}" + ("" if ends == "disconnect" else "-retry")
    retry = await upload(client, public, retry_headers, pdf("interrupted") + b"%" * (3 * 1024 * 1024))
    assert retry.status_code == 201, retry.text


# --- who may upload, review and read -------------------------------------------------------------------

UPLOAD_STATUS = {
    "public": {
        "admin": 201,
        "editor": 201,
        "other_editor": 403,
        "legal_reviewer": 403,
        "participant": 201,
        "outsider": 403,
        "auditor": 403,
        "anonymous": 401,
    },
    "private": {
        "admin": 201,
        "editor": 201,
        "other_editor": 404,
        "legal_reviewer": 403,
        "participant": 201,
        "outsider": 404,
        "auditor": 403,
        "anonymous": 401,
    },
}


@pytest.mark.parametrize("visibility", ["public", "private"])
@pytest.mark.parametrize("actor", ACTORS)
async def test_who_may_upload(
    client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    private: dict[str, Any],
    session: AsyncSession,
    evidence_dir: Path,
    actor: str,
    visibility: str,
) -> None:
    agreement = public if visibility == "public" else private
    expected = UPLOAD_STATUS[visibility][actor]
    before = await state(session, evidence_dir)
    response = await upload(client, agreement, world.headers(actor), pdf(f"{actor}-{visibility}"))
    if expected == 201:
        assert response.status_code == 201, response.text
        assert response.json()["uploaded_by_org_id"] == str(world.org_of(actor))
        return
    assert_problem(response, expected)
    assert await state(session, evidence_dir) == before


@pytest.mark.parametrize(("visibility", "status"), [("public", 403), ("private", 404)])
async def test_a_contributor_listed_on_one_agreement_cannot_upload_to_another(
    client: httpx2.AsyncClient, world: World, session: AsyncSession, evidence_dir: Path, visibility: str, status: int
) -> None:
    fields: dict[str, Any] = {"title": "Hermanamiento Guadalajara - Lyon"}
    if visibility == "public":
        fields["signed_on"] = iso(-10)
    elsewhere = await create_agreement(client, world.headers("editor"), world.signatory.id, **fields)
    before = await state(session, evidence_dir)
    response = await upload(client, elsewhere, world.headers("participant"), pdf("elsewhere"))
    assert_problem(response, status)
    assert await state(session, evidence_dir) == before


REVIEW_STATUS = {
    "admin": 200,
    "editor": 200,
    "other_editor": 404,  # may not even see a submitted document
    "legal_reviewer": 403,
    "participant": 403,
    "outsider": 404,
    "auditor": 403,
    "anonymous": 401,
}


@pytest.mark.parametrize("decision", ["accepted", "rejected"])
@pytest.mark.parametrize("actor", ACTORS)
async def test_who_may_review(
    client: httpx2.AsyncClient,
    world: World,
    public: dict[str, Any],
    session: AsyncSession,
    actor: str,
    decision: str,
) -> None:
    document = await uploaded(client, public, world.headers("participant"), pdf("to-review"))
    entries = await count(session, "log_entries")
    response = await review(client, document, world.headers(actor), decision, note="Revisado en sesión.")
    expected = REVIEW_STATUS[actor]
    if expected != 200:
        assert_problem(response, expected)
        assert await count(session, "log_entries") == entries
        unchanged = await client.get(f"/v1/evidence/{document['id']}", headers=world.headers("editor"))
        assert unchanged.json()["status"] == "submitted"
        return
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == decision
    assert result["review_note"] == "Revisado en sesión."
    assert moment(result["reviewed_at"]).tzinfo is not None
    assert result["sha256"] == document["sha256"]
    assert await count(session, "log_entries") == entries + 1
    read = await client.get(f"/v1/evidence/{document['id']}", headers=world.headers("participant"))
    assert read.json() == result


@pytest.mark.parametrize("first", ["accepted", "rejected"])
async def test_a_reviewed_document_cannot_be_reviewed_again(
    client: httpx2.AsyncClient, world: World, public: dict[str, Any], session: AsyncSession, first: str
) -> None:
    document = await uploaded(client, public, world.headers("participant"), pdf("reviewed"))
    done = await reviewed(client, world, document, first, "Primera revisión.")
    entries = await count(session, "log_entries")
    for actor in ("editor", "admin"):
        for decision in ("accepted", "rejected"):
            again = await review(client, document, world.headers(actor), decision, "Cambio de opinión.")
            problem = assert_problem(again, 409)
            assert first in problem["detail"]
    assert await count(session, "log_entries") == entries
    after = await client.get(f"/v1/evidence/{document['id']}", headers=world.headers("editor"))
    assert after.json() == done


@pytest.mark.parametrize(
    "body",
    [{"decision": "maybe"}, {}, {"decision": "accepted", "status": "accepted"}, {"decision": "accepted", "note": 5}],
    ids=["unknown-decision", "no-decision", "extra-field", "note-not-text"],
)
async def test_a_review_that_breaks_the_schema_is_422(
    client: httpx2.AsyncClient, world: World, public: dict[str, Any], body: dict[str, Any]
) -> None:
    document = await uploaded(client, public, world.headers("participant"), pdf("schema-review"))
    response = await client.post(f"/v1/evidence/{document['id']}/review", json=body, headers=world.headers("editor"))
    assert_problem(response, 422)


async def test_unknown_evidence_is_404_everywhere(client: httpx2.AsyncClient, world: World) -> None:
    missing = uuid.uuid4()
    for response in (
        await client.get(f"/v1/evidence/{missing}", headers=world.headers("admin")),
        await client.get(f"/v1/evidence/{missing}/content", headers=world.headers("admin")),
        await client.post(
            f"/v1/evidence/{missing}/review", json={"decision": "accepted"}, headers=world.headers("admin")
        ),
    ):
        assert_problem(response, 404)


INSIDERS = ("admin", "editor", "legal_reviewer", "participant", "auditor")
OUTSIDERS = ("other_editor", "outsider", "anonymous")
assert set(INSIDERS) | set(OUTSIDERS) == set(ACTORS)


async def three_documents(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """One document in each state, each with its own content."""
    participant = world.headers("participant")
    submitted = await uploaded(client, agreement, participant, pdf(f"submitted-{agreement['id']}"))
    accepted = await uploaded(client, agreement, participant, pdf(f"accepted-{agreement['id']}"))
    rejected = await uploaded(client, agreement, participant, pdf(f"rejected-{agreement['id']}"))
    return {
        "submitted": submitted,
        "accepted": await reviewed(client, world, accepted, "accepted", "Coincide con el acta."),
        "rejected": await reviewed(client, world, rejected, "rejected", "Ilegible; volver a escanear."),
    }


@pytest.mark.parametrize("actor", ACTORS)
async def test_who_sees_evidence_of_a_public_agreement(
    client: httpx2.AsyncClient, world: World, public: dict[str, Any], actor: str
) -> None:
    documents = await three_documents(client, world, public)
    headers = world.headers(actor)
    insider = actor in INSIDERS

    listed = await walk(client, evidence_url(public), headers)
    visible = {"submitted", "accepted", "rejected"} if insider else {"accepted"}
    assert {d["id"] for d in listed} == {documents[s]["id"] for s in visible}

    for status, document in documents.items():
        record = await client.get(f"/v1/evidence/{document['id']}", headers=headers)
        content = await client.get(document["content_url"], headers=headers)
        provenance = await client.get(f"/v1/evidence/{document['id']}/provenance", headers=headers)
        if status not in visible:
            assert_problem(record, 404)
            assert_problem(content, 404)
            assert_problem(provenance, 404)
            continue
        assert provenance.status_code == 200
        assert provenance.json()["sha256"] == document["sha256"]
        assert record.status_code == 200, record.text
        shown = record.json()
        assert shown["status"] == status
        assert shown["sha256"] == document["sha256"]
        # The reviewer's note is for the agreement's own people.
        assert shown["review_note"] == (document["review_note"] if insider else None)
        assert content.status_code == 200
        assert hashlib.sha256(content.content).hexdigest() == document["sha256"]
    for item in listed:
        if not insider:
            assert item["review_note"] is None


@pytest.mark.parametrize("actor", ACTORS)
async def test_who_sees_evidence_of_a_private_agreement(
    client: httpx2.AsyncClient, world: World, private: dict[str, Any], actor: str
) -> None:
    documents = await three_documents(client, world, private)
    headers = world.headers(actor)
    listed = await client.get(evidence_url(private), headers=headers)
    if actor in OUTSIDERS:
        # Even accepted evidence of a private agreement does not exist for outsiders.
        assert_problem(listed, 404)
        for document in documents.values():
            assert_problem(await client.get(f"/v1/evidence/{document['id']}", headers=headers), 404)
            assert_problem(await client.get(document["content_url"], headers=headers), 404)
            assert_problem(await client.get(f"/v1/evidence/{document['id']}/provenance", headers=headers), 404)
        return
    assert listed.status_code == 200
    assert {d["id"] for d in listed.json()["items"]} == {d["id"] for d in documents.values()}
    for document in documents.values():
        record = await client.get(f"/v1/evidence/{document['id']}", headers=headers)
        assert record.json()["review_note"] == document["review_note"]
        assert (await client.get(document["content_url"], headers=headers)).content == pdf(
            f"{record.json()['status']}-{private['id']}"
        )


# --- content download ------------------------------------------------------------------------------------

BODY = pdf("download") + bytes(range(256)) * 8


@pytest.fixture
async def published(client: httpx2.AsyncClient, world: World, public: dict[str, Any]) -> dict[str, Any]:
    """An accepted document of a public agreement: anyone may download it."""
    document = await uploaded(client, public, world.headers("participant"), BODY)
    return await reviewed(client, world, document, "accepted")


async def test_content_comes_with_its_sha256_as_etag(client: httpx2.AsyncClient, published: dict[str, Any]) -> None:
    response = await client.get(published["content_url"])
    assert response.status_code == 200
    assert response.content == BODY
    sha = sha256_of(BODY)
    assert response.headers["etag"] == f'"{sha}"'
    assert hashlib.sha256(response.content).hexdigest() == response.headers["etag"].strip('"') == published["sha256"]
    assert response.headers["content-length"] == str(len(BODY))
    assert response.headers["content-type"].split(";")[0] == MEDIA_PDF
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", '"0000", {etag}', "W/{etag}", "*"],
    ids=["exact", "among-several", "weak", "any"],
)
async def test_if_none_match_with_the_etag_is_304(
    client: httpx2.AsyncClient, published: dict[str, Any], if_none_match: str
) -> None:
    etag = f'"{published["sha256"]}"'
    response = await client.get(published["content_url"], headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


async def test_if_none_match_with_another_etag_sends_the_content(
    client: httpx2.AsyncClient, published: dict[str, Any]
) -> None:
    response = await client.get(published["content_url"], headers={"If-None-Match": f'"{sha256_of(b"old")}"'})
    assert response.status_code == 200
    assert response.content == BODY


SIZE = len(BODY)


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 10),
        ("bytes=-5", SIZE - 5, SIZE),
        ("bytes=10-", 10, SIZE),
        ("bytes=100-100", 100, 101),
        (f"bytes={SIZE - 1}-", SIZE - 1, SIZE),
        (f"bytes=5-{SIZE * 10}", 5, SIZE),
        (f"bytes=-{SIZE * 10}", 0, SIZE),
    ],
    ids=["first-ten", "suffix", "open", "one-byte", "last-byte", "end-past-size", "suffix-past-size"],
)
async def test_a_range_returns_206_with_exactly_those_bytes(
    client: httpx2.AsyncClient, published: dict[str, Any], header: str, start: int, end: int
) -> None:
    response = await client.get(published["content_url"], headers={"Range": header})
    assert response.status_code == 206, response.text
    assert response.content == BODY[start:end]
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert response.headers["content-length"] == str(end - start)
    assert response.headers["etag"] == f'"{published["sha256"]}"'


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 1000}-{SIZE + 2000}", "bytes=-0"])
async def test_a_range_past_the_end_is_416_naming_the_size(
    client: httpx2.AsyncClient, published: dict[str, Any], header: str
) -> None:
    response = await client.get(published["content_url"], headers={"Range": header})
    assert_problem(response, 416)
    assert response.headers["content-range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "lines=1-2", "bytes=9-3"], ids=["several", "unit", "backwards"])
async def test_a_range_the_server_does_not_serve_sends_everything(
    client: httpx2.AsyncClient, published: dict[str, Any], header: str
) -> None:
    response = await client.get(published["content_url"], headers={"Range": header})
    assert response.status_code == 200
    assert response.content == BODY
    assert "content-range" not in response.headers


async def test_if_range_applies_the_range_only_while_the_etag_matches(
    client: httpx2.AsyncClient, published: dict[str, Any]
) -> None:
    etag = f'"{published["sha256"]}"'
    stale = await client.get(
        published["content_url"], headers={"Range": "bytes=0-9", "If-Range": f'"{sha256_of(b"old")}"'}
    )
    assert stale.status_code == 200
    assert stale.content == BODY
    current = await client.get(published["content_url"], headers={"Range": "bytes=0-9", "If-Range": etag})
    assert current.status_code == 206
    assert current.content == BODY[:10]


async def test_a_range_request_for_content_already_held_is_304(
    client: httpx2.AsyncClient, published: dict[str, Any]
) -> None:
    etag = f'"{published["sha256"]}"'
    response = await client.get(published["content_url"], headers={"Range": "bytes=0-9", "If-None-Match": etag})
    assert response.status_code == 304


_FILENAME_STAR = re.compile(r"filename\*=UTF-8''([^;\s]+)")
_FILENAME = re.compile(r'filename="([^"]*)"')


def disposition_names(header: str) -> tuple[str, str]:
    """The plain fallback and the RFC 8187 UTF-8 name of a Content-Disposition header."""
    plain, extended = _FILENAME.search(header), _FILENAME_STAR.search(header)
    assert plain is not None, header
    assert extended is not None, header
    return plain.group(1), unquote(extended.group(1), errors="strict")


@pytest.mark.parametrize(
    "filename",
    [
        "Informe de avance, Año 2025 «final».pdf",
        "会议纪要.pdf",
        'acta "definitiva"; v2.pdf',
        "100% listo.pdf",
    ],
    ids=["spanish", "cjk", "quotes-and-semicolon", "percent"],
)
async def test_content_disposition_carries_the_utf8_filename_safely(
    client: httpx2.AsyncClient, world: World, public: dict[str, Any], filename: str
) -> None:
    document = await uploaded(client, public, world.headers("participant"), pdf(filename), filename=filename)
    response = await client.get(document["content_url"], headers=world.headers("participant"))
    header = response.headers["content-disposition"]
    assert header.startswith("attachment;")
    assert all(" " <= c <= "~" for c in header), header  # plain visible ASCII: nothing to inject
    fallback, name = disposition_names(header)
    assert name == document["filename"]
    assert '"' not in fallback
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", [b"acta\x01.pdf", b"acta\x1b[31m.pdf", b"acta\x7f.pdf"], ids=["soh", "escape", "del"])
async def test_control_characters_in_a_filename_never_reach_the_download_header(
    client: httpx2.AsyncClient, world: World, public: dict[str, Any], name: bytes
) -> None:
    # Sent raw, as a hand-written client could; a browser would have escaped them.
    boundary = "pacta-control"
    body = multipart_body(boundary, pdf(name.decode())).replace(b'filename="lista.pdf"', b'filename="' + name + b'"')
    response = await client.post(
        evidence_url(public),
        content=body,
        headers={**world.headers("participant"), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 201, response.text
    document = response.json()
    download = await client.get(document["content_url"], headers=world.headers("participant"))
    assert download.status_code == 200
    header = download.headers["content-disposition"]
    assert all(" " <= c <= "~" for c in header), repr(header)
    assert disposition_names(header)[1] == document["filename"]


async def test_upload_form_problems_are_written_in_the_callers_language(
    client: httpx2.AsyncClient, world: World, public: dict[str, Any]
) -> None:
    headers = world.headers("editor")
    spanish = await upload(client, public, headers, pdf("es"), title="x" * 301)
    english = await upload(client, public, headers | {"Accept-Language": "en"}, pdf("en"), title="x" * 301)
    es_issue = assert_problem(spanish, 422, loc=["body", "title"])["errors"][0]
    en_issue = assert_problem(english, 422, loc=["body", "title"])["errors"][0]
    assert es_issue["msg"] == "Debe tener como máximo 300 caracteres."
    assert en_issue["msg"] == "String should have at most 300 characters"
    assert es_issue["type"] == en_issue["type"] == "string_too_long"


# --- a Range header with a number too long to parse (a regression a review found) -----------------


async def test_a_range_with_thousands_of_digits_gets_the_whole_file(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world, "public")
    participant = world.headers("participant")
    content = pdf()
    uploaded = await client.post(
        f"{AGREEMENTS}/{agreement['id']}/evidence",
        files={"file": ("lista.pdf", content, "application/pdf")},
        data={"title": "Lista", "document_type": "attendance_list"},
        headers=participant,
    )
    assert uploaded.status_code == 201, uploaded.text
    response = await client.get(
        f"/v1/evidence/{uploaded.json()['id']}/content",
        headers={**participant, "Range": "bytes=" + "9" * 5000 + "-"},
    )
    assert response.status_code == 200, response.text
    assert response.content == content
